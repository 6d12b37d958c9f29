// CSRs and name coverage: the identifiers of a certificate, DNS names (RFC 8555
// §7.4) and IP addresses (RFC 8738 §3, §4).
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>

#include "base/crypto.h"
#include "base/names.h"
#include "base/openssl_error.h"
#include "base/openssl_ptr.h"

namespace certkeeper {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The iPAddress octets (4 or 16, RFC 5280 §4.2.1.6) of a canonical address.
std::string IpOctets(const std::string& ip) {
  if (ip.find(':') == std::string::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, ip.c_str(), &v4) != 1) return "";
    return std::string(reinterpret_cast<const char*>(&v4), sizeof v4);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return "";
  return std::string(reinterpret_cast<const char*>(&v6), sizeof v6);
}

// One SAN entry: an iPAddress for an IP identifier, a dNSName otherwise.
Status PushSan(GENERAL_NAMES* sans, const std::string& name, bool is_ip) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_STRING* value = is_ip ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
  const std::string bytes = is_ip ? IpOctets(name) : name;
  if (gn == nullptr || value == nullptr || bytes.empty() ||
      ASN1_STRING_set(value, bytes.data(), static_cast<int>(bytes.size())) != 1) {
    ASN1_STRING_free(value);
    GENERAL_NAME_free(gn);
    return CryptoError(ErrorCode::kInternal, "create CSR: SAN");
  }
  GENERAL_NAME_set0_value(gn, is_ip ? GEN_IPADD : GEN_DNS, value);
  if (sk_GENERAL_NAME_push(sans, gn) <= 0) {
    GENERAL_NAME_free(gn);
    return CryptoError(ErrorCode::kInternal, "create CSR: SAN");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> CreateCsrDer(const PrivateKey& key,
                                 const std::vector<std::string>& domains) {
  if (key.get() == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "create CSR: no private key");
  }
  if (domains.empty()) {
    return Status(ErrorCode::kInvalidArgument, "create CSR: no domains given");
  }
  std::vector<std::pair<std::string, bool>> names;  // canonical, is an IP
  const std::string* common_name = nullptr;
  for (const std::string& d : domains) {
    auto canonical = CanonicalIdentifier(d);
    if (!canonical.ok()) return canonical.status().Annotate("create CSR");
    names.emplace_back(std::move(*canonical), LooksLikeIpAddress(d));
  }
  for (const auto& [name, is_ip] : names) {
    // RFC 8738 §4 leaves IPs to the SAN; CAs refuse an IP as the CN. RFC 5280
    // §4.1.2.6 bounds commonName at 64 octets (ub-common-name): a longer name
    // is carried in the SAN extension only, which is what CAs read anyway.
    if (!is_ip) {
      if (name.size() <= 64) common_name = &name;
      break;
    }
  }

  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return CryptoError(ErrorCode::kInternal, "create CSR");
  }
  if (common_name != nullptr) {
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_txt(
            subject, "CN", MBSTRING_ASC,
            reinterpret_cast<const unsigned char*>(common_name->data()),
            static_cast<int>(common_name->size()), -1, 0) != 1) {
      return CryptoError(ErrorCode::kInternal, "create CSR: subject");
    }
  }

  GeneralNamesPtr sans(GENERAL_NAMES_new());
  if (!sans) return CryptoError(ErrorCode::kInternal, "create CSR: SAN");
  for (const auto& [name, is_ip] : names) {
    CK_RETURN_IF_ERROR(PushSan(sans.get(), name, is_ip));
  }
  ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* san_ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, sans.get());
  if (!exts || san_ext == nullptr || sk_X509_EXTENSION_push(exts.get(), san_ext) <= 0) {
    X509_EXTENSION_free(san_ext);
    return CryptoError(ErrorCode::kInternal, "create CSR: SAN extension");
  }
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return CryptoError(ErrorCode::kInternal, "create CSR");
  }
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return CryptoError(ErrorCode::kInternal, "create CSR: sign with SHA-256");
  }
  int len = i2d_X509_REQ(req.get(), nullptr);
  if (len <= 0) return CryptoError(ErrorCode::kInternal, "create CSR: DER encoding");
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_REQ(req.get(), &p);
  return der;
}

std::string IpAddressSanText(std::string_view octets) {
  char buf[INET6_ADDRSTRLEN];
  int family = octets.size() == 4 ? AF_INET : octets.size() == 16 ? AF_INET6 : 0;
  if (family == 0 || inet_ntop(family, octets.data(), buf, sizeof buf) == nullptr) return "";
  // Through CanonicalIpAddress, so that a SAN compares equal to the identifier
  // it was ordered for (inet_ntop's forms differ from RFC 5952's).
  auto canonical = CanonicalIpAddress(buf);
  return canonical.ok() ? *canonical : std::string();
}

std::vector<std::string> CertificateIdentifiers(const CertInfo& cert) {
  std::vector<std::string> out = cert.dns_names;
  out.insert(out.end(), cert.ip_addresses.begin(), cert.ip_addresses.end());
  return out;
}

bool CertificateCovers(const CertInfo& cert, std::string_view name) {
  // An IP identifier is covered only by an iPAddress SAN: a dNSName that reads
  // "192.0.2.1" is no IP address to a TLS client (RFC 5280 §4.2.1.6 keeps the
  // two name forms apart).
  if (LooksLikeIpAddress(name)) {
    auto want = CanonicalIpAddress(name);
    if (!want.ok()) return false;
    for (const std::string& ip : cert.ip_addresses) {
      if (ip == *want) return true;
    }
    return false;
  }
  std::string want = Lower(name);
  if (want.empty()) return false;
  for (const std::string& san : cert.dns_names) {
    std::string have = Lower(san);
    if (have == want) return true;
    // RFC 6125 §6.4.3 as CAs issue it: "*." only as the whole leftmost label,
    // standing for exactly one non-empty label.
    if (have.size() > 2 && have.compare(0, 2, "*.") == 0) {
      std::string_view suffix = std::string_view(have).substr(1);  // ".example.com"
      if (want.size() <= suffix.size()) continue;
      std::string_view head = std::string_view(want).substr(0, want.size() - suffix.size());
      if (std::string_view(want).substr(head.size()) == suffix &&
          head.find('.') == std::string_view::npos && head != "*") {
        return true;
      }
    }
  }
  return false;
}

}  // namespace certkeeper
