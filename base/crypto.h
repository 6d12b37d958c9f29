// Keys, CSRs and X.509 inspection on OpenSSL 3. Shared by acme/ (CSR, JWS keys),
// lifecycle/ (recording versions) and hooks/ (pre-deploy checks).
#ifndef CERTKEEPER_BASE_CRYPTO_H_
#define CERTKEEPER_BASE_CRYPTO_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;

namespace certkeeper {

enum class KeyType { kEc256, kEc384, kRsa2048, kRsa3072, kRsa4096 };

// "ec256", "ec384", "rsa2048", "rsa3072", "rsa4096"; anything else is an error
// listing the accepted names.
Result<KeyType> ParseKeyType(std::string_view name);
std::string_view KeyTypeName(KeyType type);

class PrivateKey {
 public:
  static Result<PrivateKey> Generate(KeyType type);
  // PKCS#8 or traditional PEM; EC P-256/P-384 and RSA >= 2048 only.
  static Result<PrivateKey> FromPem(std::string_view pem);
  Result<std::string> ToPem() const;  // PKCS#8 PEM, unencrypted

  KeyType type() const { return type_; }
  bool is_ec() const { return type_ == KeyType::kEc256 || type_ == KeyType::kEc384; }
  EVP_PKEY* get() const { return pkey_.get(); }
  // SubjectPublicKeyInfo, DER: compare keys by their public half.
  Result<std::string> PublicKeyDer() const;

 private:
  struct Deleter { void operator()(EVP_PKEY* p) const; };
  PrivateKey(EVP_PKEY* pkey, KeyType type) : pkey_(pkey, Deleter()), type_(type) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_;
};

// A DER PKCS#10 request signed by key (RFC 8555 §7.4). `domains` holds DNS
// names and IP addresses (RFC 8738), each canonicalized by CanonicalIdentifier
// (a refused one fails the call): a DNS name becomes a dNSName SAN, an IP an
// iPAddress SAN (RFC 8738 §4). The subject CN is the first DNS name when it fits
// in 64 octets; never an IP, so an IP-only request has an empty subject.
Result<std::string> CreateCsrDer(const PrivateKey& key,
                                 const std::vector<std::string>& domains);

struct CertInfo {
  std::string serial_hex;      // lower case, no leading zeros, no colons
  TimePoint not_before;
  TimePoint not_after;
  std::string issuer;          // one-line RFC 2253 form
  std::string subject;
  std::string issuer_common_name;   // first CN of the issuer, UTF-8; "" if none
  std::string subject_common_name;  // first CN of the subject, UTF-8; "" if none
  std::vector<std::string> dns_names;     // SAN dNSNames
  std::vector<std::string> ip_addresses;  // SAN iPAddresses, CanonicalIpAddress form
                                          // (others, e.g. IPv4-mapped, are left out)
  std::string sha256_fingerprint;      // lower-case hex of SHA-256(DER)
  std::string der;
};

// Splits a PEM bundle into its certificates (each a PEM block, in order); an error
// when there are none or a block does not parse.
Result<std::vector<std::string>> SplitPemCertificates(std::string_view pem);
// Parses the first certificate of a PEM bundle.
Result<CertInfo> ParseCertificatePem(std::string_view pem);
Result<CertInfo> ParseCertificateDer(std::string_view der);
std::string DerToPem(std::string_view der);  // a CERTIFICATE block

// A certificate of a PEM bundle, parsed once. OpenSSL 3.0 sets up a decoder
// for the public key of every certificate it parses (about 1.5 million
// instructions each), so a chain that is checked at the network edge, matched
// against its key and inspected is parsed here once and passed on.
class ParsedCertificate {
 public:
  const std::string& pem() const { return pem_; }  // the block, re-encoded
  const CertInfo& info() const { return info_; }
  // kFailedPrecondition unless key is the private half of this certificate's key.
  Status MatchesKey(const PrivateKey& key) const;

 private:
  friend Result<std::vector<ParsedCertificate>> ParsePemCertificates(std::string_view pem);
  struct Deleter { void operator()(X509* x) const; };
  std::shared_ptr<X509> x509_;
  std::string pem_;
  CertInfo info_;
};
// Every certificate of a PEM bundle, in order; the errors of SplitPemCertificates.
Result<std::vector<ParsedCertificate>> ParsePemCertificates(std::string_view pem);

// True when the certificate's SANs cover name: a DNS name by a dNSName (a
// wildcard SAN covers one label), an IP address (any spelling CanonicalIpAddress
// accepts) only by an iPAddress SAN of the same address.
bool CertificateCovers(const CertInfo& cert, std::string_view name);
// Every identifier the certificate names: dns_names, then ip_addresses. This is
// the list to compare with a certificate's configured domains.
std::vector<std::string> CertificateIdentifiers(const CertInfo& cert);
// The canonical text of an iPAddress SAN's octets (4 or 16); "" for any other
// length or an address CanonicalIpAddress refuses.
std::string IpAddressSanText(std::string_view octets);

// kFailedPrecondition unless key is the private half of the certificate's key.
Status KeyMatchesCertificate(const PrivateKey& key, std::string_view cert_pem);

// Verifies leaf + intermediates up to one of the trust anchors at time `at`.
// trust_pem empty: the system trust store. Errors say which check failed
// ("unable to get local issuer certificate: the chain is missing an intermediate").
Status VerifyChain(std::string_view leaf_pem, std::string_view intermediates_pem,
                   std::string_view trust_pem, TimePoint at);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_CRYPTO_H_
