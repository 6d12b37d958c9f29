#include "lifecycle/crl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/openssl_error.h"

namespace certkeeper::lifecycle {

namespace {

using CrlPtr = OpenSslPtr<X509_CRL, X509_CRL_free>;

Status Refused(std::string what) {
  return Status(ErrorCode::kProtocol, "CRL refused: " + std::move(what));
}

CrlPtr ParseDer(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (crl && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
  return crl;
}

// RFC 5280 §5.2.5: a list scoped to part of the issuer's certificates, or a
// delta (§5.2.4), does not show every revocation of an end-entity certificate.
Status CheckScope(X509_CRL* crl) {
  int critical = -1;
  void* delta = X509_CRL_get_ext_d2i(crl, NID_delta_crl, &critical, nullptr);
  if (delta != nullptr) {
    ASN1_INTEGER_free(static_cast<ASN1_INTEGER*>(delta));
    return Refused("it is a delta CRL, not a complete one");
  }
  auto* idp = static_cast<ISSUING_DIST_POINT*>(
      X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &critical, nullptr));
  if (idp == nullptr) {
    ERR_clear_error();
    // -1: absent; anything else is an extension that did not decode.
    return critical == -1 ? Status::Ok() : Refused("its Issuing Distribution Point is malformed");
  }
  const bool partial = idp->onlyCA > 0 || idp->onlyattr > 0 || idp->onlysomereasons != nullptr ||
                       idp->indirectCRL > 0;
  ISSUING_DIST_POINT_free(idp);
  if (partial) {
    return Refused("its Issuing Distribution Point limits it to CA or attribute certificates, "
                   "some reasons, or makes it indirect");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> CrlDer(std::string_view bytes) {
  if (bytes.size() > kMaxCrlBytes) {
    return Refused("it is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                   std::to_string(kMaxCrlBytes));
  }
  if (bytes.find("-----BEGIN X509 CRL-----") == std::string_view::npos) {
    if (!ParseDer(bytes)) {
      ERR_clear_error();
      return Refused("it is neither a DER nor a PEM CRL");
    }
    return std::string(bytes);
  }
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  unsigned char* der = nullptr;
  const int len = crl ? i2d_X509_CRL(crl.get(), &der) : -1;
  ERR_clear_error();
  if (len <= 0) return Refused("its PEM block does not hold a CRL");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<RevocationStatus> CheckCrl(std::string_view bytes, const CertPair& pair, TimePoint now) {
  CK_RETURN_IF_ERROR(NeedIssuer(pair));
  CK_ASSIGN_OR_RETURN(std::string der, CrlDer(bytes));
  CrlPtr crl = ParseDer(der);
  if (!crl) return Refused("it does not parse");
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_issuer_name(pair.leaf.get())) != 0) {
    return Refused("its issuer is not the certificate's issuer (indirect CRLs are not used)");
  }
  if ((X509_get_extension_flags(pair.issuer.get()) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(pair.issuer.get()) & KU_CRL_SIGN) == 0) {
    return Refused("the issuer's keyUsage does not allow it to sign CRLs (cRLSign)");
  }
  EVP_PKEY* key = X509_get0_pubkey(pair.issuer.get());
  if (key == nullptr || X509_CRL_verify(crl.get(), key) != 1) {
    const std::string detail = OpenSslErrors("the signature does not match the issuer's key");
    return Refused("its signature does not verify with the issuer's key (" + detail + ")");
  }
  CK_RETURN_IF_ERROR(CheckScope(crl.get()));
  RevocationStatus out;
  CK_ASSIGN_OR_RETURN(TimePoint this_update,
                      AsnTimeToTime(X509_CRL_get0_lastUpdate(crl.get()), "CRL thisUpdate"));
  out.this_update = this_update;
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get()); next != nullptr) {
    CK_ASSIGN_OR_RETURN(TimePoint next_update, AsnTimeToTime(next, "CRL nextUpdate"));
    out.next_update = next_update;
  }
  CK_RETURN_IF_ERROR(CheckUpdateTimes(*out.this_update, out.next_update, now, "the CRL"));

  X509_REVOKED* entry = nullptr;
  const int found = X509_CRL_get0_by_serial(crl.get(), &entry,
                                            X509_get0_serialNumber(pair.leaf.get()));
  if (found != 1 || entry == nullptr) {
    out.status = "good";
    return out;
  }
  out.status = "revoked";
  CK_ASSIGN_OR_RETURN(TimePoint at, AsnTimeToTime(X509_REVOKED_get0_revocationDate(entry),
                                                  "CRL revocationDate"));
  out.revoked_at = at;
  int critical = -1;
  auto* reason = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &critical, nullptr));
  out.reason = CrlReasonName(reason != nullptr ? static_cast<int>(ASN1_ENUMERATED_get(reason)) : 0);
  ASN1_ENUMERATED_free(reason);
  ERR_clear_error();
  return out;
}

}  // namespace certkeeper::lifecycle
