// Reading certbot's directory into an ImportPlan (import_certbot.h).
#include "lifecycle/import_certbot.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "base/names.h"
#include "base/text.h"
#include "lifecycle/import_source.h"

namespace certkeeper::lifecycle {

namespace {

constexpr size_t kMaxConf = 64 * 1024;
constexpr int kMaxVersions = 10000;

// certbot's renewalparams that certkeeper either maps or has no use for
// (paths of certbot's own, values certkeeper decides itself).
const std::set<std::string>& KnownParams() {
  static const std::set<std::string> kKnown = {
      "account", "server", "authenticator", "installer", "http01_port", "http01_address",
      "webroot_path", "key_type", "rsa_key_size", "elliptic_curve", "renew_hook",
      "deploy_hook", "post_hook", "pre_hook", "preferred_chain", "pref_challs",
      "manual_auth_hook", "manual_cleanup_hook", "manual_public_ip_logging_ok",
      "config_dir", "work_dir", "logs_dir", "user_agent", "no_verify_ssl",
      "allow_subset_of_names", "must_staple", "reuse_key", "preferred_challenges",
      "staging", "break_my_certs", "strict_permissions", "eab_kid", "eab_hmac_key"};
  return kKnown;
}

bool IsTrue(const std::string& v) { return v == "True" || v == "true" || v == "1"; }

bool ValidAccountId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
  });
}

struct Lineage {
  std::string name;
  RenewalConf conf;
};

class CertbotScanner {
 public:
  CertbotScanner(SourceTree tree) : tree_(std::move(tree)) {
    plan_.from = "certbot";
    plan_.source_dir = tree_.root();
  }

  Result<ImportPlan> Scan() {
    CK_ASSIGN_OR_RETURN(std::vector<std::string> entries, tree_.List("renewal"));
    if (entries.empty() && !tree_.IsDirectory("renewal")) {
      return Status(ErrorCode::kNotFound, "no certbot renewal/ directory")
          .Where(tree_.root())
          .Hint("give certbot's config directory (--config-dir), e.g. /etc/letsencrypt");
    }
    for (const std::string& entry : entries) {
      if (entry.size() <= 5 || entry.compare(entry.size() - 5, 5, ".conf") != 0) continue;
      std::string name = entry.substr(0, entry.size() - 5);
      Status s = ScanLineage(name);
      if (!s.ok()) {
        plan_.unmapped.push_back({name, "certificate", "renewal/" + entry,
                                  "not imported: " + s.ToString()});
      }
    }
    ScanHookDirectories();
    ChooseSolvers(candidates_, plan_);
    return std::move(plan_);
  }

 private:
  Status ScanLineage(const std::string& name) {
    // The name becomes a path below archive/ and live/: only certkeeper's
    // certificate names are accepted, which excludes "..", "/" and newlines.
    CK_RETURN_IF_ERROR(ValidateCertificateName(name).Hint(
        "rename the lineage with `certbot rename`, or import live/NAME with `certkeeper import "
        "PATH`"));
    CK_ASSIGN_OR_RETURN(std::string text, tree_.Read("renewal/" + name + ".conf", kMaxConf));
    // Its values end up in a TOML config, which holds UTF-8 only.
    if (!IsValidUtf8(text)) {
      return Status(ErrorCode::kInvalidArgument, "renewal conf is not valid UTF-8")
          .Where(tree_.root() + "/renewal/" + name + ".conf");
    }
    auto conf = ParseRenewalConf(text);
    if (!conf.ok()) return conf.status().Where(tree_.root() + "/renewal/" + name + ".conf");
    ImportedCertificate cert;
    CK_RETURN_IF_ERROR(ReadVersions(name, cert));
    CK_ASSIGN_OR_RETURN(CertInfo live, ParseCertificatePem(cert.versions.back().cert_pem));
    cert.domains = CertificateIdentifiers(live);
    CK_ASSIGN_OR_RETURN(cert.name, ImportName(name, cert.domains));
    const auto& p = conf->params;
    auto param = [&](const std::string& key) {
      auto it = p.find(key);
      return it == p.end() ? std::string() : it->second;
    };
    cert.server = param("server").empty() ? std::string(kLetsEncryptProduction) : param("server");
    CK_ASSIGN_OR_RETURN(KeyType actual, KeyTypeOfPem(cert.versions.back().key_pem));
    cert.key_type = MapKeyType(cert.name, param("key_type"), param("rsa_key_size"),
                               param("elliptic_curve"), actual);
    MapAccount(cert.name, cert.server, param("account"));
    MapAuthenticator(cert, *conf);
    MapHooks(cert, p);
    if (!param("preferred_chain").empty()) {
      auto [it, added] = plan_.preferred_chain.emplace(cert.server, param("preferred_chain"));
      if (!added && it->second != param("preferred_chain")) {
        plan_.unmapped.push_back({cert.name, "preferred_chain", param("preferred_chain"),
                                  "certkeeper has one preferred_chain per CA; kept \"" +
                                      it->second + "\""});
      }
    }
    for (const auto& [key, value] : p) {
      if (KnownParams().count(key)) continue;
      plan_.unmapped.push_back({cert.name, key, value, "a certbot setting certkeeper does not use"});
    }
    if (IsTrue(param("must_staple"))) {
      plan_.unmapped.push_back({cert.name, "must_staple", "True",
                                "certkeeper does not request OCSP Must-Staple"});
    }
    if (IsTrue(param("reuse_key"))) {
      plan_.unmapped.push_back({cert.name, "reuse_key", "True",
                                "certkeeper makes a new key at each renewal; next_key = true "
                                "pre-generates it (published pins)"});
    }
    if (!param("installer").empty() && param("installer") != "None") {
      plan_.unmapped.push_back({cert.name, "installer", param("installer"),
                                "add a [[deploy]] files target with reload = [...] for the "
                                "server that uses the certificate"});
    }
    plan_.certificates.push_back(std::move(cert));
    return Status::Ok();
  }

  // archive/NAME/certN.pem, chainN.pem, privkeyN.pem for every N; the live
  // one (live/NAME/cert.pem's target) last.
  Status ReadVersions(const std::string& name, ImportedCertificate& cert) {
    const std::string archive = "archive/" + name;
    CK_ASSIGN_OR_RETURN(std::vector<std::string> files, tree_.List(archive));
    std::vector<int> numbers;
    for (const std::string& f : files) {
      if (f.size() <= 8 || f.compare(0, 4, "cert") != 0 || f.compare(f.size() - 4, 4, ".pem") != 0) {
        continue;
      }
      std::string digits = f.substr(4, f.size() - 8);
      if (digits.empty() || digits.size() > 5 ||
          !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
        continue;
      }
      numbers.push_back(std::stoi(digits));
    }
    std::sort(numbers.begin(), numbers.end());
    if (numbers.empty()) {
      return Status(ErrorCode::kNotFound, "no archived certificate (certN.pem)")
          .Where(tree_.root() + "/" + archive);
    }
    if (numbers.size() > kMaxVersions) {
      return Status(ErrorCode::kInvalidArgument, "too many versions").Where(archive);
    }
    // live/NAME/cert.pem is a symlink to ../../archive/NAME/certK.pem.
    int live = numbers.back();
    auto target = tree_.Locate("live/" + name + "/cert.pem");
    const std::string prefix = tree_.root() + "/" + archive + "/cert";
    if (target.ok() && target->compare(0, prefix.size(), prefix) == 0) {
      std::string digits = target->substr(prefix.size());
      if (digits.size() > 4 && digits.compare(digits.size() - 4, 4, ".pem") == 0) {
        digits.resize(digits.size() - 4);
        if (!digits.empty() && digits.size() <= 5 &&
            std::all_of(digits.begin(), digits.end(), ::isdigit)) {
          live = std::stoi(digits);
        }
      }
    }
    for (int n : numbers) {
      if (n > live) {
        plan_.unmapped.push_back({name, "version", archive + "/cert" + std::to_string(n) + ".pem",
                                  "newer than the live version; not imported"});
        continue;
      }
      const std::string suffix = std::to_string(n) + ".pem";
      ImportedVersion v;
      v.source = archive + "/cert" + suffix;
      CK_ASSIGN_OR_RETURN(v.cert_pem, tree_.Read(archive + "/cert" + suffix));
      CK_ASSIGN_OR_RETURN(v.key_pem, tree_.Read(archive + "/privkey" + suffix));
      auto chain = tree_.Read(archive + "/chain" + suffix);
      if (chain.ok()) {
        v.chain_pem = *chain;
      } else if (chain.status().code() != ErrorCode::kNotFound) {
        return chain.status();
      }
      auto leaf = SplitPemCertificates(v.cert_pem);
      if (!leaf.ok()) return leaf.status().Where(v.source);
      v.cert_pem = leaf->front();
      auto checked = CheckImportedVersion(v);
      if (!checked.ok()) {
        plan_.unmapped.push_back({name, "version", v.source, "not imported: " +
                                                                 checked.status().ToString()});
        if (n == live) return checked.status().Annotate("the live version");
        continue;
      }
      cert.versions.push_back(std::move(v));
    }
    return Status::Ok();
  }

  KeyType MapKeyType(const std::string& name, const std::string& type, const std::string& size,
                     const std::string& curve, KeyType actual) {
    if (type == "rsa" || (type.empty() && !size.empty())) {
      if (size.empty() || size == "2048") return KeyType::kRsa2048;
      if (size == "3072") return KeyType::kRsa3072;
      if (size == "4096") return KeyType::kRsa4096;
      plan_.unmapped.push_back({name, "rsa_key_size", size,
                                "certkeeper makes RSA keys of 2048, 3072 or 4096 bits; the "
                                "current key's type is kept"});
      return actual;
    }
    if (type == "ecdsa") {
      if (curve.empty() || curve == "secp256r1") return KeyType::kEc256;
      if (curve == "secp384r1") return KeyType::kEc384;
      plan_.unmapped.push_back({name, "elliptic_curve", curve,
                                "certkeeper makes P-256 or P-384 keys; the current key's type is "
                                "kept when it is one of them, else P-384"});
      return actual == KeyType::kEc256 ? actual : KeyType::kEc384;
    }
    if (!type.empty()) {
      plan_.unmapped.push_back({name, "key_type", type, "unknown key type; the current key's "
                                                        "type is kept"});
    }
    return actual;
  }

  void MapAccount(const std::string& name, const std::string& server, const std::string& id) {
    if (id.empty()) {
      plan_.unmapped.push_back({name, "account", "", "no account named; certkeeper registers "
                                                     "one at the first renewal"});
      return;
    }
    for (const ImportedAccount& a : plan_.accounts) {
      if (a.server != server) continue;
      if (a.source.find("/" + id + "/") != std::string::npos) return;  // already read
      plan_.unmapped.push_back({name, "account", id,
                                "certkeeper uses one account per CA; this certificate is renewed "
                                "with account " + a.account_url});
      return;
    }
    Status s = ReadAccount(server, id);
    if (!s.ok()) {
      plan_.unmapped.push_back({name, "account", id,
                                "not imported (" + s.ToString() +
                                    "); certkeeper registers a new account at the first renewal"});
    }
  }

  Status ReadAccount(const std::string& server, const std::string& id) {
    if (!ValidAccountId(id)) return Status(ErrorCode::kInvalidArgument, "invalid account id");
    CK_ASSIGN_OR_RETURN(std::string sub, CertbotAccountDir(server));
    const std::string dir = "accounts/" + sub + "/" + id;
    CK_ASSIGN_OR_RETURN(std::string jwk, tree_.Read(dir + "/private_key.json", kMaxSourceJson));
    auto pem = JwkToPem(jwk);
    if (!pem.ok()) return pem.status().Where(tree_.root() + "/" + dir + "/private_key.json");
    CK_ASSIGN_OR_RETURN(std::string regr_text, tree_.Read(dir + "/regr.json", kMaxSourceJson));
    auto regr = nlohmann::json::parse(regr_text, nullptr, false);
    if (regr.is_discarded() || !regr.is_object() || !regr.contains("uri") ||
        !regr["uri"].is_string()) {
      return Status(ErrorCode::kInvalidArgument, "regr.json has no \"uri\"")
          .Where(tree_.root() + "/" + dir + "/regr.json");
    }
    ImportedAccount account;
    account.server = server;
    account.account_url = regr["uri"].get<std::string>();
    // The account URL is the JWS "kid" for this CA: it must be on the CA's host.
    auto host_of = [](const std::string& url) {
      size_t scheme = url.find("://");
      if (scheme == std::string::npos) return std::string();
      size_t end = url.find('/', scheme + 3);
      return url.substr(0, end);
    };
    if (host_of(account.account_url).empty() || host_of(account.account_url) != host_of(server)) {
      return Status(ErrorCode::kInvalidArgument, "the account URL is not on the CA's host")
          .Where(tree_.root() + "/" + dir + "/regr.json");
    }
    if (regr.contains("body") && regr["body"].is_object() && regr["body"].contains("contact") &&
        regr["body"]["contact"].is_array()) {
      for (const auto& c : regr["body"]["contact"]) {
        if (c.is_string() && c.get<std::string>().rfind("mailto:", 0) == 0) {
          account.email = c.get<std::string>().substr(7);
          break;
        }
      }
    }
    account.key_pem = std::move(*pem);
    account.source = dir + "/";
    plan_.accounts.push_back(std::move(account));
    return Status::Ok();
  }

  void MapAuthenticator(ImportedCertificate& cert, const RenewalConf& conf) {
    const auto& p = conf.params;
    auto param = [&](const std::string& key) {
      auto it = p.find(key);
      return it == p.end() ? std::string() : it->second;
    };
    const std::string auth = param("authenticator");
    SolverCandidate c;
    c.certificate = cert.name;
    c.setting = "authenticator";
    if (auth == "standalone") {
      const std::string port = param("http01_port").empty() ? "80" : param("http01_port");
      const std::string address =
          param("http01_address").empty() ? "0.0.0.0" : param("http01_address");
      c.settings.type = "http-01";
      c.settings.listen = (address.find(':') != std::string::npos ? "[" + address + "]" : address) +
                          ":" + port;
      c.value = "standalone, http01_port " + port;
    } else if (auth == "webroot") {
      std::set<std::string> roots;
      for (const std::string& d : cert.domains) {
        auto it = conf.webroot_map.find(d);
        if (it != conf.webroot_map.end()) roots.insert(it->second);
      }
      std::vector<std::string> paths = ConfList(param("webroot_path"));
      if (roots.empty() && !paths.empty()) roots.insert(paths.front());
      if (roots.empty()) {
        plan_.unmapped.push_back({cert.name, "webroot_path", "", "no webroot recorded; set "
                                                                  "[solvers.http-01] webroot"});
        return;
      }
      if (roots.size() > 1) {
        plan_.unmapped.push_back({cert.name, "webroot_map", *std::next(roots.begin()),
                                  "certkeeper has one webroot per config; using " +
                                      *roots.begin() + " for every name"});
      }
      c.settings.type = "http-01";
      c.settings.webroot = *roots.begin();
      c.value = "webroot " + *roots.begin();
    } else if (auth == "manual") {
      std::vector<std::string> prefs = ConfList(param("pref_challs"));
      const bool dns = std::find(prefs.begin(), prefs.end(), "dns-01") != prefs.end() ||
                       std::find(prefs.begin(), prefs.end(), "dns") != prefs.end();
      if (!dns || param("manual_auth_hook").empty()) {
        plan_.unmapped.push_back(
            {cert.name, "authenticator", "manual" + std::string(dns ? " (no auth hook)" : ""),
             dns ? "a manual dns-01 lineage without manual_auth_hook was renewed by hand; "
                   "configure [solvers.dns-01] (docs/dns-plugins.md)"
                 : "manual http-01 has no certkeeper equivalent; use [solvers.http-01] with "
                   "webroot or listen"});
        return;
      }
      c.settings.type = "dns-01";
      c.settings.provider = "exec";
      c.settings.command = ManualHookCommand(param("manual_auth_hook"),
                                             param("manual_cleanup_hook"));
      c.value = "manual dns-01 hooks";
    } else {
      plan_.unmapped.push_back(
          {cert.name, "authenticator", auth.empty() ? "(none)" : auth,
           auth.rfind("dns-", 0) == 0
               ? "certbot DNS plugins have no certkeeper equivalent; use [solvers.dns-01] with "
                 "provider rfc2136, exec or a plugin (docs/dns-plugins.md)"
               : "configure [solvers.http-01] (webroot of the web server, or listen) instead"});
      return;
    }
    cert.challenges = {c.settings.type};
    candidates_.push_back(std::move(c));
  }

  // The exec DNS provider calls PROGRAM [ARGS] present|cleanup FQDN VALUE;
  // certbot's hooks read CERTBOT_DOMAIN and CERTBOT_VALIDATION. The hook
  // texts are arguments of the fixed script, never part of it.
  static std::vector<std::string> ManualHookCommand(const std::string& auth,
                                                    const std::string& cleanup) {
    static const std::string kScript =
        "auth=$1; cleanup=$2; action=$3; "
        "CERTBOT_DOMAIN=$CERTKEEPER_DNS_DOMAIN; CERTBOT_VALIDATION=$5; "
        "CERTBOT_REMAINING_CHALLENGES=0; CERTBOT_ALL_DOMAINS=$CERTKEEPER_DNS_DOMAIN; "
        "export CERTBOT_DOMAIN CERTBOT_VALIDATION CERTBOT_REMAINING_CHALLENGES "
        "CERTBOT_ALL_DOMAINS; "
        "case $action in present) exec /bin/sh -c \"$auth\";; "
        "cleanup) [ -n \"$cleanup\" ] || exit 0; exec /bin/sh -c \"$cleanup\";; esac; exit 2";
    return {"/bin/sh", "-c", kScript, "certbot-manual-hook", auth, cleanup};
  }

  void MapHooks(ImportedCertificate& cert, const std::map<std::string, std::string>& p) {
    for (const char* key : {"renew_hook", "deploy_hook", "post_hook"}) {
      auto it = p.find(key);
      if (it == p.end() || it->second.empty() || it->second == "None") continue;
      std::string target = AddHookTarget(plan_, it->second);
      if (std::find(cert.deploy.begin(), cert.deploy.end(), target) == cert.deploy.end()) {
        cert.deploy.push_back(target);
      }
    }
    auto pre = p.find("pre_hook");
    if (pre != p.end() && !pre->second.empty() && pre->second != "None") {
      plan_.unmapped.push_back({cert.name, "pre_hook", pre->second,
                                "certkeeper has no pre-renewal hook; a standalone solver that "
                                "needs port 80 freed can listen on another port behind the web "
                                "server instead"});
    }
  }

  // renewal-hooks/deploy/ and post/ run for every lineage in certbot: each
  // executable becomes a command target (run without a shell) of every
  // certificate. pre/ has no equivalent.
  void ScanHookDirectories() {
    for (const char* kind : {"deploy", "post", "pre"}) {
      const std::string dir = std::string("renewal-hooks/") + kind;
      auto names = tree_.List(dir);
      if (!names.ok()) continue;
      for (const std::string& n : *names) {
        if (n.empty() || n[0] == '.') continue;
        auto path = tree_.Locate(dir + "/" + n);
        if (!path.ok()) {
          plan_.unmapped.push_back({"", dir, n, "not used: " + path.status().ToString()});
          continue;
        }
        if (std::string(kind) == "pre") {
          plan_.unmapped.push_back({"", dir, *path, "certkeeper has no pre-renewal hook"});
          continue;
        }
        std::string target = AddProgramTarget(plan_, *path);
        for (ImportedCertificate& c : plan_.certificates) {
          if (std::find(c.deploy.begin(), c.deploy.end(), target) == c.deploy.end()) {
            c.deploy.push_back(target);
          }
        }
        plan_.unmapped.push_back({"", dir, *path,
                                  "mapped to deploy target " + target +
                                      " of every certificate; it stays in certbot's directory, "
                                      "so move it before removing certbot"});
      }
    }
  }

  SourceTree tree_;
  ImportPlan plan_;
  std::vector<SolverCandidate> candidates_;
};

}  // namespace

Result<ImportPlan> ScanCertbot(const std::string& dir) {
  CK_ASSIGN_OR_RETURN(SourceTree tree, SourceTree::Open(dir));
  return CertbotScanner(std::move(tree)).Scan();
}

}  // namespace certkeeper::lifecycle
