// The status page's inline style sheet and the small text helpers its parts
// share (cli/status_page.cc, cli/status_page_parts.cc). Internal to the page.
#ifndef CERTKEEPER_CLI_STATUS_PAGE_STYLE_H_
#define CERTKEEPER_CLI_STATUS_PAGE_STYLE_H_

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "lifecycle/monitor.h"

namespace certkeeper::cli::status_page {

// The whole style sheet: no outside font, image or script.
std::string_view StyleSheet();

// "2026-12-01 19:13 UTC".
std::string ShortTime(TimePoint t);
// "in 3 days", "5 hours ago", "now".
std::string Relative(TimePoint t, TimePoint now);
// <time datetime="RFC 3339" title="...">relative</time>, escaped.
std::string TimeTag(TimePoint t, TimePoint now);
std::string TimeTag(const std::optional<TimePoint>& t, TimePoint now, std::string_view none);

// The CAs, endpoints and last runs sections.
std::string CaSection(const lifecycle::MonitorSnapshot& snapshot);
std::string EndpointSection(const lifecycle::MonitorSnapshot& snapshot);
std::string RunsLine(const lifecycle::MonitorSnapshot& snapshot);

}  // namespace certkeeper::cli::status_page

#endif  // CERTKEEPER_CLI_STATUS_PAGE_STYLE_H_
