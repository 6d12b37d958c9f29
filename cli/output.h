// Rendering engine results for people (tables) and programs (--json, the
// contract in ARCHITECTURE.md "JSON output").
#ifndef CERTKEEPER_CLI_OUTPUT_H_
#define CERTKEEPER_CLI_OUTPUT_H_

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json_writer.h"
#include "base/status.h"
#include "lifecycle/engine.h"

namespace certkeeper::cli {

nlohmann::json ToJson(const lifecycle::CertificateView& c, TimePoint now);
// The document `list --json` prints (and serve's /api/certificates): an array
// of ToJson(c, now), in the given order.
nlohmann::json ListJson(const std::vector<lifecycle::CertificateView>& certs, TimePoint now);
nlohmann::json ToJson(const lifecycle::AttemptView& a);
nlohmann::json ToJson(const lifecycle::VersionView& v);
nlohmann::json ToJson(const lifecycle::CertificateOutcome& o);
nlohmann::json ToJson(const lifecycle::AccountView& a);
nlohmann::json ErrorJson(const Status& s);
// An optional time as every document writes it: RFC 3339, or null when unset.
nlohmann::json TimeOrNull(const std::optional<TimePoint>& t);

// The same documents written as they are made (base/json_writer.h), for the
// ones that grow with the inventory: the text is exactly
// DumpJson(ToJson(...), indent) of the same values.
void WriteJson(JsonWriter& w, const lifecycle::CertificateView& c, TimePoint now);
void WriteListJson(JsonWriter& w, const std::vector<lifecycle::CertificateView>& certs,
                   TimePoint now);
void WriteJson(JsonWriter& w, const lifecycle::CertificateOutcome& o);
// Any nlohmann value, through w (for the small parts built as one).
void WriteJsonValue(JsonWriter& w, const nlohmann::json& j);

// The text of a --json document. A string that is not valid UTF-8 (an
// inventory row written before output was sanitized at capture) is written with
// U+FFFD in its place: one bad row must not make the whole document fail.
std::string DumpJson(const nlohmann::json& j, int indent = 2);

// Human-readable output escapes every string that came from outside (CA
// problem details, hook output, certificate subjects, URLs) with
// EscapeForTerminal (base/text.h), on a terminal or not: logs and files read
// later on a terminal are as dangerous. --json carries the raw strings.
std::string RenderList(const std::vector<lifecycle::CertificateView>& certs, TimePoint now);
std::string RenderShow(const lifecycle::CertificateView& c, TimePoint now);
std::string RenderHistory(const std::vector<lifecycle::AttemptView>& attempts);
std::string RenderOutcome(const lifecycle::CertificateOutcome& o);
std::string RenderAccount(const lifecycle::AccountView& a);
std::string RenderError(const Status& s);  // "certkeeper: error: ...\n"
std::string RenderFinding(const lifecycle::CheckFinding& f);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_OUTPUT_H_
