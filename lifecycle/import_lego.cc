// Reading lego's directory into an ImportPlan (import_lego.h).
#include "lifecycle/import_lego.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/names.h"
#include "lifecycle/import_certbot.h"
#include "lifecycle/import_source.h"

namespace certkeeper::lifecycle {

namespace {

// An email used as a folder and file name by lego: never a path.
bool SafeFileName(const std::string& n) {
  if (n.empty() || n.size() > 255 || n == "." || n == "..") return false;
  return std::none_of(n.begin(), n.end(), [](char c) {
    return c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

}  // namespace

std::string LegoAccountFolder(std::string_view server) {
  size_t scheme = server.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = server.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.empty()) return "";
  std::string folder(rest);
  std::replace(folder.begin(), folder.end(), ':', '_');
  return folder;
}

Result<LegoAccount> ParseLegoAccount(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::kInvalidArgument, "account.json is not a JSON object");
  }
  LegoAccount a;
  if (j.contains("email") && j["email"].is_string()) a.email = j["email"].get<std::string>();
  if (!j.contains("registration") || !j["registration"].is_object() ||
      !j["registration"].contains("uri") || !j["registration"]["uri"].is_string()) {
    return Status(ErrorCode::kInvalidArgument, "account.json has no registration.uri")
        .Hint("the account was never registered; certkeeper registers one at the first renewal");
  }
  a.uri = j["registration"]["uri"].get<std::string>();
  if (a.uri.rfind("https://", 0) != 0 && a.uri.rfind("http://", 0) != 0) {
    return Status(ErrorCode::kInvalidArgument, "registration.uri is not an http(s) URL");
  }
  return a;
}

namespace {

class LegoScanner {
 public:
  LegoScanner(SourceTree tree, std::string server) : tree_(std::move(tree)), server_(server) {
    plan_.from = "lego";
    plan_.source_dir = tree_.root();
  }

  Result<ImportPlan> Scan() {
    if (!tree_.IsDirectory("certificates") && !tree_.IsDirectory("accounts")) {
      return Status(ErrorCode::kNotFound, "no lego accounts/ or certificates/ directory")
          .Where(tree_.root())
          .Hint("give lego's --path directory (default ./.lego where lego ran)");
    }
    ScanAccounts();
    CK_ASSIGN_OR_RETURN(std::vector<std::string> files, tree_.List("certificates"));
    for (const std::string& f : files) {
      if (f.size() <= 4 || f.compare(f.size() - 4, 4, ".crt") != 0) continue;
      if (f.size() > 11 && f.compare(f.size() - 11, 11, ".issuer.crt") == 0) continue;
      std::string stem = f.substr(0, f.size() - 4);
      Status s = ScanCertificate(stem);
      if (!s.ok()) {
        plan_.unmapped.push_back({stem, "certificate", "certificates/" + f,
                                  "not imported: " + s.ToString()});
      }
    }
    if (!plan_.certificates.empty()) {
      plan_.unmapped.push_back(
          {"", "challenge", "",
           "lego stores no renewal settings: add the [solvers.*] the certificates renew with "
           "(e.g. [solvers.http-01] listen = \"0.0.0.0:80\" for lego --http) and their "
           "[[deploy]] targets to the config"});
    }
    return std::move(plan_);
  }

 private:
  std::string ServerOfFolder(const std::string& folder) {
    for (std::string_view known : {kLetsEncryptProduction, kLetsEncryptStaging}) {
      if (LegoAccountFolder(known) == folder) return std::string(known);
    }
    if (!server_.empty() && LegoAccountFolder(server_) == folder) return server_;
    return "";
  }

  void ScanAccounts() {
    auto folders = tree_.List("accounts");
    if (!folders.ok()) return;
    for (const std::string& folder : *folders) {
      if (!SafeFileName(folder)) continue;
      const std::string server = ServerOfFolder(folder);
      auto emails = tree_.List("accounts/" + folder);
      if (!emails.ok()) continue;
      for (const std::string& email : *emails) {
        if (!SafeFileName(email)) {
          plan_.unmapped.push_back({"", "account", "accounts/" + folder + "/" + email,
                                    "not a valid folder name; not imported"});
          continue;
        }
        if (server.empty()) {
          plan_.unmapped.push_back(
              {"", "account", "accounts/" + folder + "/" + email,
               "lego does not record the directory URL; pass --server URL of this CA"});
          continue;
        }
        Status s = ReadAccount(folder, email, server);
        if (!s.ok()) {
          plan_.unmapped.push_back({"", "account", "accounts/" + folder + "/" + email,
                                    "not imported: " + s.ToString()});
        }
      }
    }
  }

  Status ReadAccount(const std::string& folder, const std::string& email,
                     const std::string& server) {
    const std::string dir = "accounts/" + folder + "/" + email;
    CK_ASSIGN_OR_RETURN(std::string text, tree_.Read(dir + "/account.json", kMaxSourceJson));
    auto parsed = ParseLegoAccount(text);
    if (!parsed.ok()) return parsed.status().Where(tree_.root() + "/" + dir + "/account.json");
    if (LegoAccountFolder(parsed->uri) != folder) {
      return Status(ErrorCode::kInvalidArgument, "registration.uri is not on the CA's host")
          .Where(tree_.root() + "/" + dir + "/account.json");
    }
    CK_ASSIGN_OR_RETURN(std::string key_text, tree_.Read(dir + "/keys/" + email + ".key", kMaxSourceJson));
    auto key = PrivateKey::FromPem(key_text);
    if (!key.ok()) return key.status().Where(tree_.root() + "/" + dir + "/keys/" + email + ".key");
    for (const ImportedAccount& a : plan_.accounts) {
      if (a.server == server) {
        plan_.unmapped.push_back({"", "account", dir,
                                  "certkeeper uses one account per CA; kept " + a.account_url});
        return Status::Ok();
      }
    }
    ImportedAccount account;
    account.server = server;
    account.account_url = parsed->uri;
    account.email = parsed->email;
    CK_ASSIGN_OR_RETURN(account.key_pem, key->ToPem());
    account.source = dir + "/";
    plan_.accounts.push_back(std::move(account));
    return Status::Ok();
  }

  Status ScanCertificate(const std::string& stem) {
    if (!SafeFileName(stem)) return Status(ErrorCode::kInvalidArgument, "invalid file name");
    const std::string base = "certificates/" + stem;
    CK_ASSIGN_OR_RETURN(std::string fullchain, tree_.Read(base + ".crt"));
    CK_ASSIGN_OR_RETURN(std::string key, tree_.Read(base + ".key"));
    CK_ASSIGN_OR_RETURN(ImportedVersion v,
                        VersionFromFullchain(fullchain, std::move(key), base + ".crt"));
    CK_ASSIGN_OR_RETURN(CertInfo info, CheckImportedVersion(v));
    ImportedCertificate cert;
    cert.domains = CertificateIdentifiers(info);
    // lego names files after the first domain, '*' written as '_'.
    CK_ASSIGN_OR_RETURN(cert.name, ImportName(stem, cert.domains));
    CK_ASSIGN_OR_RETURN(cert.key_type, KeyTypeOfPem(v.key_pem));
    // Which CA: the host of certUrl in <domain>.json, matched to an account.
    std::string cert_url;
    auto meta = tree_.Read(base + ".json", kMaxSourceJson);
    if (meta.ok()) {
      auto j = nlohmann::json::parse(*meta, nullptr, false);
      if (j.is_object() && j.contains("certUrl") && j["certUrl"].is_string()) {
        cert_url = j["certUrl"].get<std::string>();
      }
    }
    for (const ImportedAccount& a : plan_.accounts) {
      if (cert_url.empty() || LegoAccountFolder(cert_url) == LegoAccountFolder(a.server)) {
        cert.server = a.server;
        break;
      }
    }
    if (cert.server.empty()) {
      cert.server = !server_.empty() ? server_ : std::string(kLetsEncryptProduction);
    }
    cert.versions.push_back(std::move(v));
    plan_.certificates.push_back(std::move(cert));
    return Status::Ok();
  }

  SourceTree tree_;
  std::string server_;
  ImportPlan plan_;
};

}  // namespace

Result<ImportPlan> ScanLego(const std::string& dir, const std::string& server) {
  CK_ASSIGN_OR_RETURN(SourceTree tree, SourceTree::Open(dir));
  return LegoScanner(std::move(tree), server).Scan();
}

}  // namespace certkeeper::lifecycle
