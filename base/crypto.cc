#include "base/crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <climits>
#include <ctime>

#include "base/encoding.h"
#include "base/names.h"
#include "base/openssl_error.h"
#include "base/openssl_ptr.h"

namespace certkeeper {

namespace {

template <typename T, void (*F)(T*)>
using Owned = OpenSslPtr<T, F>;

using NamePtr = Owned<X509_NAME, X509_NAME_free>;
using StorePtr = Owned<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;
using BnPtr = Owned<BIGNUM, BN_free>;

BioPtr MemBio(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) return BioPtr();
  // A default-constructed string_view has a null data() that OpenSSL rejects.
  const char* bytes = data.empty() ? "" : data.data();
  return BioPtr(BIO_new_mem_buf(bytes, static_cast<int>(data.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

// Refuses to prompt for a passphrase: certkeeper runs unattended, and OpenSSL's
// default callback would read from the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

Result<KeyType> ClassifyKey(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                         sizeof group, &len) != 1) {
        ERR_clear_error();
        return Status(ErrorCode::kInvalidArgument,
                      "EC private key has no named curve")
            .Hint("use a P-256 or P-384 key (certkeeper key types ec256, ec384)");
      }
      int nid = OBJ_txt2nid(group);
      if (nid == NID_undef) nid = EC_curve_nist2nid(group);
      if (nid == NID_X9_62_prime256v1) return KeyType::kEc256;
      if (nid == NID_secp384r1) return KeyType::kEc384;
      return Status(ErrorCode::kInvalidArgument,
                    std::string("EC private key on unsupported curve ") + group)
          .Hint("ACME CAs accept P-256 and P-384 (key types ec256, ec384)");
    }
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_get_bits(pkey);
      if (bits < 2048) {
        return Status(ErrorCode::kInvalidArgument,
                      "RSA private key of " + std::to_string(bits) +
                          " bits is too small")
            .Hint("use RSA of at least 2048 bits, or an EC key");
      }
      // Sizes between the named types are accepted and reported as the largest
      // named type they reach; only the signature algorithm depends on the type.
      if (bits >= 4096) return KeyType::kRsa4096;
      if (bits >= 3072) return KeyType::kRsa3072;
      return KeyType::kRsa2048;
    }
    default: {
      const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(pkey));
      return Status(ErrorCode::kInvalidArgument,
                    std::string("unsupported private key algorithm ") +
                        (name ? name : "(unknown)"))
          .Hint("use an EC P-256/P-384 key or an RSA key of at least 2048 bits");
    }
  }
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string NameOneLine(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  return BioContents(bio.get());
}

// The first commonName of a name as UTF-8; empty when there is none, it does
// not convert, or it holds a NUL (never compared as a C string elsewhere).
std::string FirstCommonName(const X509_NAME* name) {
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, value);
  if (len < 0) {
    ERR_clear_error();
    return "";
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out.find('\0') == std::string::npos ? out : std::string();
}

Result<TimePoint> AsnTimeToTimePoint(const ASN1_TIME* t, std::string_view field) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return Status(ErrorCode::kInvalidArgument,
                  "certificate " + std::string(field) + " is not a valid time");
  }
  // RFC 5280 §4.1.2.5 gives 99991231235959Z the meaning "no expiration"; such
  // years do not fit a TimePoint, and converting them would overflow.
  int year_value = tm.tm_year + 1900;
  if (year_value < kMinTimePointYear || year_value > kMaxTimePointYear) {
    return Status(ErrorCode::kInvalidArgument,
                  "certificate " + std::string(field) + " is in the year " +
                      std::to_string(year_value) + ", outside the years " +
                      std::to_string(kMinTimePointYear) + "-" +
                      std::to_string(kMaxTimePointYear) + " that certkeeper can represent");
  }
  using namespace std::chrono;
  year_month_day ymd{year{year_value}, month{static_cast<unsigned>(tm.tm_mon + 1)},
                     day{static_cast<unsigned>(tm.tm_mday)}};
  return time_point_cast<system_clock::duration>(
      sys_days{ymd} + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec});
}

Result<CertInfo> Inspect(X509* x) {
  CertInfo info;
  BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
  if (!serial) return CryptoError(ErrorCode::kInvalidArgument, "certificate serial");
  char* hex = BN_bn2hex(serial.get());
  if (hex == nullptr) return CryptoError(ErrorCode::kInternal, "certificate serial");
  // BN_bn2hex prints whole bytes ("0A1B2C"); the contract is no leading zeros.
  std::string_view digits(hex);
  std::string sign;
  if (!digits.empty() && digits.front() == '-') {
    sign = "-";
    digits.remove_prefix(1);
  }
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  info.serial_hex = sign + AsciiLower(digits);
  OPENSSL_free(hex);

  CK_ASSIGN_OR_RETURN(info.not_before,
                      AsnTimeToTimePoint(X509_get0_notBefore(x), "notBefore"));
  CK_ASSIGN_OR_RETURN(info.not_after,
                      AsnTimeToTimePoint(X509_get0_notAfter(x), "notAfter"));
  info.issuer = NameOneLine(X509_get_issuer_name(x));
  info.subject = NameOneLine(X509_get_subject_name(x));
  info.issuer_common_name = FirstCommonName(X509_get_issuer_name(x));
  info.subject_common_name = FirstCommonName(X509_get_subject_name(x));

  int crit = 0;
  GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x, NID_subject_alt_name, &crit, nullptr)));
  if (!sans && crit != -1) {
    return CryptoError(ErrorCode::kInvalidArgument,
                       "certificate subjectAltName extension does not parse");
  }
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = gn->d.iPAddress;
      std::string text = IpAddressSanText(std::string_view(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(ip)),
          static_cast<size_t>(ASN1_STRING_length(ip))));
      if (!text.empty()) info.ip_addresses.push_back(std::move(text));
      continue;
    }
    if (gn->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = gn->d.dNSName;
    std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
    // A NUL inside a dNSName is an attack on C-string comparisons; never report it.
    if (name.find('\0') == std::string::npos) info.dns_names.push_back(std::move(name));
  }

  int len = i2d_X509(x, nullptr);
  if (len <= 0) return CryptoError(ErrorCode::kInternal, "certificate DER encoding");
  info.der.resize(static_cast<size_t>(len));
  auto* p = reinterpret_cast<unsigned char*>(info.der.data());
  i2d_X509(x, &p);
  info.sha256_fingerprint = HexEncode(Sha256(info.der));
  ERR_clear_error();
  return info;
}

// Reads every CERTIFICATE block of a PEM bundle, skipping other block types.
// An empty result is not an error here; callers decide.
Result<std::vector<X509Ptr>> ReadPemCertificates(std::string_view pem,
                                                 std::string_view what) {
  BioPtr bio = MemBio(pem);
  if (!bio) return CryptoError(ErrorCode::kInvalidArgument, std::string(what));
  std::vector<X509Ptr> certs;
  ERR_clear_error();
  for (;;) {
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (x) {
      certs.push_back(std::move(x));
      continue;
    }
    unsigned long err = ERR_peek_last_error();
    if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
      ERR_clear_error();
      return certs;
    }
    return CryptoError(ErrorCode::kInvalidArgument,
                       std::string(what) + ": certificate #" +
                           std::to_string(certs.size() + 1) + " does not parse");
  }
}

Result<X509Ptr> ReadFirstCertificate(std::string_view pem, std::string_view what) {
  CK_ASSIGN_OR_RETURN(auto certs, ReadPemCertificates(pem, what));
  if (certs.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(what) + ": no CERTIFICATE PEM block found")
        .Hint("expected text starting with -----BEGIN CERTIFICATE-----");
  }
  return std::move(certs.front());
}

// at_leaf: the failing certificate is the leaf itself (error depth 0).
std::string VerifyHint(int err, bool at_leaf) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      return at_leaf ? "(is the intermediate missing?)"
                     : "(is the issuing root missing from the trust store?)";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return "(is the root missing from the trust store?)";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "(renew the certificate)";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "(is the system clock behind?)";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "(is an intermediate from a different issuer in the chain?)";
    default:
      return "";
  }
}

}  // namespace

Result<KeyType> ParseKeyType(std::string_view name) {
  for (KeyType t : {KeyType::kEc256, KeyType::kEc384, KeyType::kRsa2048,
                    KeyType::kRsa3072, KeyType::kRsa4096}) {
    if (KeyTypeName(t) == name) return t;
  }
  return Status(ErrorCode::kInvalidArgument,
                "unknown key type \"" + std::string(name) + "\"")
      .Hint("accepted key types: ec256, ec384, rsa2048, rsa3072, rsa4096");
}

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEc256: return "ec256";
    case KeyType::kEc384: return "ec384";
    case KeyType::kRsa2048: return "rsa2048";
    case KeyType::kRsa3072: return "rsa3072";
    case KeyType::kRsa4096: return "rsa4096";
  }
  return "unknown";
}

void PrivateKey::Deleter::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

Result<PrivateKey> PrivateKey::Generate(KeyType type) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::kEc256:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::kEc384:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyType::kRsa2048:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
      break;
    case KeyType::kRsa3072:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072});
      break;
    case KeyType::kRsa4096:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096});
      break;
  }
  if (pkey == nullptr) {
    return CryptoError(ErrorCode::kInternal,
                       "generate " + std::string(KeyTypeName(type)) + " key");
  }
  return PrivateKey(pkey, type);
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  BioPtr bio = MemBio(pem);
  if (!bio) return CryptoError(ErrorCode::kInvalidArgument, "private key PEM");
  ERR_clear_error();
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!pkey) {
    // The OpenSSL reasons say which decoder failed; the input is never quoted.
    return CryptoError(ErrorCode::kInvalidArgument, "private key PEM does not parse")
        .Hint("expected an unencrypted PKCS#8 (BEGIN PRIVATE KEY) or traditional "
              "(BEGIN EC/RSA PRIVATE KEY) block");
  }
  CK_ASSIGN_OR_RETURN(KeyType type, ClassifyKey(pkey.get()));
  return PrivateKey(pkey.release(), type);
}

Result<std::string> PrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0,
                                       nullptr, nullptr) != 1) {
    return CryptoError(ErrorCode::kInternal, "encode private key as PEM");
  }
  return BioContents(bio.get());
}

Result<std::string> PrivateKey::PublicKeyDer() const {
  int len = i2d_PUBKEY(pkey_.get(), nullptr);
  if (len <= 0) return CryptoError(ErrorCode::kInternal, "encode public key");
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(pkey_.get(), &p) != len) {
    return CryptoError(ErrorCode::kInternal, "encode public key");
  }
  return der;
}

void ParsedCertificate::Deleter::operator()(X509* x) const { X509_free(x); }

Result<std::vector<ParsedCertificate>> ParsePemCertificates(std::string_view pem) {
  CK_ASSIGN_OR_RETURN(auto certs, ReadPemCertificates(pem, "PEM bundle"));
  if (certs.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "PEM bundle: no CERTIFICATE block found")
        .Hint("expected text starting with -----BEGIN CERTIFICATE-----");
  }
  std::vector<ParsedCertificate> out;
  out.reserve(certs.size());
  for (X509Ptr& x : certs) {
    ParsedCertificate parsed;
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), x.get()) != 1) {
      return CryptoError(ErrorCode::kInternal, "PEM bundle: re-encode certificate");
    }
    parsed.pem_ = BioContents(bio.get());
    CK_ASSIGN_OR_RETURN(parsed.info_, Inspect(x.get()));
    parsed.x509_.reset(x.release(), ParsedCertificate::Deleter());
    out.push_back(std::move(parsed));
  }
  return out;
}

Result<std::vector<std::string>> SplitPemCertificates(std::string_view pem) {
  CK_ASSIGN_OR_RETURN(auto certs, ParsePemCertificates(pem));
  std::vector<std::string> out;
  out.reserve(certs.size());
  for (ParsedCertificate& c : certs) out.push_back(c.pem());
  return out;
}

Result<CertInfo> ParseCertificatePem(std::string_view pem) {
  CK_ASSIGN_OR_RETURN(X509Ptr x, ReadFirstCertificate(pem, "certificate PEM"));
  return Inspect(x.get());
}

Result<CertInfo> ParseCertificateDer(std::string_view der) {
  if (der.empty() || der.size() > static_cast<size_t>(LONG_MAX)) {
    return Status(ErrorCode::kInvalidArgument, "certificate DER is empty");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  ERR_clear_error();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) return CryptoError(ErrorCode::kInvalidArgument, "certificate DER does not parse");
  if (p != end) {
    return Status(ErrorCode::kInvalidArgument,
                  "certificate DER has " + std::to_string(end - p) +
                      " trailing bytes after the certificate");
  }
  return Inspect(x.get());
}

std::string DerToPem(std::string_view der) {
  std::string b64 = Base64Encode(der);
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  // RFC 7468 §2: lines of exactly 64 characters except the last.
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out.push_back('\n');
  }
  out += "-----END CERTIFICATE-----\n";
  return out;
}

namespace {

Status KeyMatches(const PrivateKey& key, X509* x) {
  if (key.get() == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "key match: no private key");
  }
  EVP_PKEY* cert_key = X509_get0_pubkey(x);
  if (cert_key == nullptr) {
    return CryptoError(ErrorCode::kInvalidArgument, "certificate public key");
  }
  int eq = EVP_PKEY_eq(key.get(), cert_key);
  ERR_clear_error();
  if (eq != 1) {
    return Status(ErrorCode::kFailedPrecondition,
                  "private key does not match the certificate's public key")
        .Where(NameOneLine(X509_get_subject_name(x)))
        .Hint("the key file and certificate file belong to different versions");
  }
  return Status::Ok();
}

}  // namespace

Status ParsedCertificate::MatchesKey(const PrivateKey& key) const {
  return KeyMatches(key, x509_.get());
}

Status KeyMatchesCertificate(const PrivateKey& key, std::string_view cert_pem) {
  if (key.get() == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "key match: no private key");
  }
  CK_ASSIGN_OR_RETURN(X509Ptr x, ReadFirstCertificate(cert_pem, "certificate PEM"));
  return KeyMatches(key, x.get());
}

Status VerifyChain(std::string_view leaf_pem, std::string_view intermediates_pem,
                   std::string_view trust_pem, TimePoint at) {
  // Certificates after the first in leaf_pem (a fullchain) count as intermediates.
  CK_ASSIGN_OR_RETURN(auto leaf_certs, ReadPemCertificates(leaf_pem, "leaf PEM"));
  if (leaf_certs.empty()) {
    return Status(ErrorCode::kInvalidArgument, "leaf PEM: no CERTIFICATE block found");
  }
  CK_ASSIGN_OR_RETURN(auto intermediates,
                      ReadPemCertificates(intermediates_pem, "intermediates PEM"));
  X509StackPtr untrusted(sk_X509_new_null());
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!untrusted || !store || !ctx) return CryptoError(ErrorCode::kInternal, "verify chain");
  auto add_untrusted = [&](X509Ptr& x) {
    if (sk_X509_push(untrusted.get(), x.get()) <= 0) return false;
    x.release();
    return true;
  };
  for (size_t i = 1; i < leaf_certs.size(); ++i) {
    if (!add_untrusted(leaf_certs[i])) return CryptoError(ErrorCode::kInternal, "verify chain");
  }
  for (X509Ptr& x : intermediates) {
    if (!add_untrusted(x)) return CryptoError(ErrorCode::kInternal, "verify chain");
  }

  if (trust_pem.empty()) {
    if (X509_STORE_set_default_paths(store.get()) != 1) {
      return CryptoError(ErrorCode::kIo, "verify chain: load the system trust store");
    }
  } else {
    CK_ASSIGN_OR_RETURN(auto anchors, ReadPemCertificates(trust_pem, "trust PEM"));
    if (anchors.empty()) {
      return Status(ErrorCode::kInvalidArgument, "trust PEM: no CERTIFICATE block found");
    }
    for (const X509Ptr& x : anchors) {
      if (X509_STORE_add_cert(store.get(), x.get()) != 1) {
        return CryptoError(ErrorCode::kInternal, "verify chain: add trust anchor");
      }
    }
  }

  X509* leaf = leaf_certs.front().get();
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return CryptoError(ErrorCode::kInternal, "verify chain");
  }
  // Everything certkeeper manages is a TLS server certificate (RFC 5280 §4.2.1.12).
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()),
                             std::chrono::system_clock::to_time_t(at));
  int rc = X509_verify_cert(ctx.get());
  if (rc == 1) {
    ERR_clear_error();
    return Status::Ok();
  }
  int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (err == X509_V_OK) {
    return Status(ErrorCode::kInternal, "chain does not verify: no reason given");
  }
  std::string message = std::string("chain does not verify: ") +
                        X509_verify_cert_error_string(err);
  int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  std::string hint = VerifyHint(err, depth == 0);
  if (!hint.empty()) message += " " + hint;
  std::string where = "depth " + std::to_string(depth);
  if (X509* bad = X509_STORE_CTX_get_current_cert(ctx.get())) {
    where += " " + NameOneLine(X509_get_subject_name(bad));
  }
  return Status(ErrorCode::kTls, std::move(message)).Where(std::move(where));
}

}  // namespace certkeeper
