// The certkeeper config that renews imported certificates (import_plan.h).
#include <algorithm>
#include <cstdio>
#include <set>

#include "lifecycle/import_plan.h"

namespace certkeeper::lifecycle {

std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

namespace {

std::string TomlList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + TomlString(items[i]);
  return out + "]";
}

// The current config's settings for `server`, when it has them.
const AcmeSettings* CurrentCa(const Config& current, const std::string& server) {
  for (const AcmeSettings& ca : current.cas) {
    if (ca.server == server) return &ca;
  }
  return current.acme.server == server ? &current.acme : nullptr;
}

void RenderCa(std::string& out, const ImportPlan& plan, const Config& current,
              const std::string& server) {
  out += "server = " + TomlString(server) + "\n";
  std::string email;
  for (const ImportedAccount& a : plan.accounts) {
    if (a.server == server) email = a.email;
  }
  if (const AcmeSettings* ca = CurrentCa(current, server)) {
    if (!ca->ca_bundle.empty()) out += "ca_bundle = " + TomlString(ca->ca_bundle) + "\n";
    if (!ca->issuer_roots.empty()) out += "issuer_roots = " + TomlString(ca->issuer_roots) + "\n";
    if (email.empty()) email = ca->email;
    if (ca->allow_insecure_http) out += "allow_insecure_http = true\n";
  }
  if (!email.empty()) out += "email = " + TomlString(email) + "\n";
  // The account was registered, terms agreed, with the other client.
  out += "agree_tos = true\n";
  const auto chain = plan.preferred_chain.find(server);
  if (chain != plan.preferred_chain.end()) {
    out += "preferred_chain = " + TomlString(chain->second) + "\n";
  }
}

std::string CaName(size_t i) { return "ca" + std::to_string(i + 1); }

}  // namespace

std::string RenderImportConfig(const ImportPlan& plan, const Config& current) {
  std::string out = "# certkeeper config for the certificates imported from " + plan.from +
                    " (" + TomlString(plan.source_dir) + ").\n"
                    "# Review it (docs/migrate.md), then run certkeeper with -c FILE.\n";
  if (!current.state_dir.empty()) out += "state_dir = " + TomlString(current.state_dir) + "\n";
  std::vector<std::string> servers;
  for (const ImportedCertificate& c : plan.certificates) {
    if (std::find(servers.begin(), servers.end(), c.server) == servers.end()) {
      servers.push_back(c.server);
    }
  }
  for (const ImportedAccount& a : plan.accounts) {
    if (std::find(servers.begin(), servers.end(), a.server) == servers.end()) {
      servers.push_back(a.server);
    }
  }
  // preferred_chain is a [[ca]] setting; [acme] is the one unnamed CA.
  const bool named = servers.size() > 1 || !plan.preferred_chain.empty();
  if (servers.empty()) {
    out += "\n# Nothing was found to import.\n";
  } else if (!named) {
    out += "\n[acme]\n";
    RenderCa(out, plan, current, servers.front());
  } else {
    for (size_t i = 0; i < servers.size(); ++i) {
      out += "\n[[ca]]\nname = " + TomlString(CaName(i)) + "\n";
      RenderCa(out, plan, current, servers[i]);
    }
  }
  for (const auto& [type, s] : plan.solvers) {
    out += "\n[solvers." + type + "]\n";
    if (!s.webroot.empty()) out += "webroot = " + TomlString(s.webroot) + "\n";
    if (!s.listen.empty()) out += "listen = " + TomlString(s.listen) + "\n";
    if (!s.provider.empty()) out += "provider = " + TomlString(s.provider) + "\n";
    if (!s.command.empty()) out += "command = " + TomlList(s.command) + "\n";
  }
  if (plan.solvers.empty()) {
    out += "\n# No challenge settings could be taken over; add one, e.g.\n"
           "# [solvers.http-01]\n# listen = \"0.0.0.0:80\"\n";
  }
  for (const ImportedCertificate& c : plan.certificates) {
    out += "\n[[certificate]]\nname = " + TomlString(c.name) + "\ndomains = " +
           TomlList(c.domains) + "\nkey_type = " + TomlString(KeyTypeName(c.key_type)) + "\n";
    if (!c.challenges.empty()) out += "challenges = " + TomlList(c.challenges) + "\n";
    if (!c.deploy.empty()) out += "deploy = " + TomlList(c.deploy) + "\n";
    if (named) {
      size_t i = std::find(servers.begin(), servers.end(), c.server) - servers.begin();
      out += "cas = " + TomlList({CaName(i)}) + "\n";
    }
  }
  for (const hooks::TargetConfig& t : plan.deploy) {
    out += "\n[[deploy]]\nname = " + TomlString(t.name) + "\ntype = \"command\"\ncommand = " +
           TomlList(t.command) + "\n";
  }
  return out;
}

}  // namespace certkeeper::lifecycle
