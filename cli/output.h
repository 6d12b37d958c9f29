// Rendering engine results for people (tables) and programs (--json, the
// contract in ARCHITECTURE.md "JSON output").
#ifndef CERTKEEPER_CLI_OUTPUT_H_
#define CERTKEEPER_CLI_OUTPUT_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "lifecycle/engine.h"

namespace certkeeper::cli {

nlohmann::json ToJson(const lifecycle::CertificateView& c, TimePoint now);
nlohmann::json ToJson(const lifecycle::AttemptView& a);
nlohmann::json ToJson(const lifecycle::VersionView& v);
nlohmann::json ToJson(const lifecycle::CertificateOutcome& o);
nlohmann::json ToJson(const lifecycle::AccountView& a);
nlohmann::json ErrorJson(const Status& s);

std::string RenderList(const std::vector<lifecycle::CertificateView>& certs, TimePoint now);
std::string RenderShow(const lifecycle::CertificateView& c, TimePoint now);
std::string RenderHistory(const std::vector<lifecycle::AttemptView>& attempts);
std::string RenderOutcome(const lifecycle::CertificateOutcome& o);
std::string RenderAccount(const lifecycle::AccountView& a);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_OUTPUT_H_
