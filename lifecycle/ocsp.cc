#include "lifecycle/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include <ctime>

#include "base/openssl_error.h"

namespace certkeeper::lifecycle {

namespace {

using OcspRequestPtr = OpenSslPtr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponsePtr = OpenSslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicPtr = OpenSslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = OpenSslPtr<OCSP_CERTID, OCSP_CERTID_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;

Status Refused(std::string what) {
  return Status(ErrorCode::kProtocol, "OCSP response refused: " + std::move(what));
}

// d2i of the whole input: trailing bytes make it garbage, not a response.
template <typename T, T* (*D2i)(T**, const unsigned char**, long), void (*Free)(T*)>
OpenSslPtr<T, Free> ParseWhole(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OpenSslPtr<T, Free> out(D2i(nullptr, &p, static_cast<long>(der.size())));
  if (out && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) out.reset();
  return out;
}

// The issuer as the only trust anchor (a partial chain): the responder is
// the issuer or a certificate it signed, never anything else the system
// trusts (RFC 6960 §4.2.2.2).
Status VerifySigner(OCSP_BASICRESP* basic, const CertPair& pair, TimePoint now) {
  X509StorePtr store(X509_STORE_new());
  X509StackPtr certs(sk_X509_new_null());
  if (!store || !certs || X509_STORE_add_cert(store.get(), pair.issuer.get()) != 1 ||
      X509_up_ref(pair.issuer.get()) != 1) {
    return Status(ErrorCode::kInternal, "cannot set up OCSP verification: " + OpenSslErrors());
  }
  sk_X509_push(certs.get(), pair.issuer.get());
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(now));
  if (OCSP_basic_verify(basic, certs.get(), store.get(), 0) != 1) {
    return Refused("its signature or its signer's authorization did not verify (" +
                   OpenSslErrors() + ")")
        .Hint("an OCSP response must be signed by the issuing CA or by a responder "
              "certificate that CA issued with the OCSPSigning extended key usage");
  }
  return Status::Ok();
}

Status CheckNonce(OCSP_REQUEST* request, OCSP_BASICRESP* basic) {
  switch (OCSP_check_nonce(request, basic)) {
    case 1:   // echoed
    case 2:   // neither has one (every request here has one)
    case -1:  // the responder sends none: see the nonce policy in ocsp.h
      return Status::Ok();
    case 0:
      return Refused("its nonce does not match the request's (a replayed response?)");
    default:  // 3: a nonce in the response only
      return Refused("its nonce answers no request nonce");
  }
}

}  // namespace

Result<std::string> BuildOcspRequest(const CertPair& pair) {
  CK_RETURN_IF_ERROR(NeedIssuer(pair));
  OcspRequestPtr request(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(nullptr, pair.leaf.get(), pair.issuer.get());
  if (!request || id == nullptr || OCSP_request_add0_id(request.get(), id) == nullptr) {
    if (id != nullptr && request) OCSP_CERTID_free(id);
    return Status(ErrorCode::kInternal, "cannot build an OCSP request: " + OpenSslErrors());
  }
  if (OCSP_request_add1_nonce(request.get(), nullptr, 16) != 1) {
    return Status(ErrorCode::kInternal, "cannot add an OCSP nonce: " + OpenSslErrors());
  }
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(request.get(), &der);
  if (len <= 0) {
    return Status(ErrorCode::kInternal, "cannot encode an OCSP request: " + OpenSslErrors());
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<RevocationStatus> VerifyOcspResponse(std::string_view response_der,
                                            std::string_view request_der, const CertPair& pair,
                                            TimePoint now, Duration max_age_without_nonce) {
  CK_RETURN_IF_ERROR(NeedIssuer(pair));
  if (response_der.size() > kMaxOcspResponseBytes) {
    return Refused("it is " + std::to_string(response_der.size()) + " bytes, over the limit of " +
                   std::to_string(kMaxOcspResponseBytes));
  }
  OcspResponsePtr response =
      ParseWhole<OCSP_RESPONSE, d2i_OCSP_RESPONSE, OCSP_RESPONSE_free>(response_der);
  OcspRequestPtr request =
      ParseWhole<OCSP_REQUEST, d2i_OCSP_REQUEST, OCSP_REQUEST_free>(request_der);
  ERR_clear_error();
  if (!response) return Refused("it is not a DER OCSPResponse");
  if (!request) return Status(ErrorCode::kInternal, "the OCSP request does not parse");
  // RFC 6960 §4.2.1: anything but successful carries no answer.
  const int response_status = OCSP_response_status(response.get());
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return Refused(std::string("the responder answered ") +
                   OCSP_response_status_str(response_status));
  }
  OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
  if (!basic) return Refused("it holds no basic response (" + OpenSslErrors() + ")");
  CK_RETURN_IF_ERROR(VerifySigner(basic.get(), pair, now));
  CK_RETURN_IF_ERROR(CheckNonce(request.get(), basic.get()));
  const bool echoed = OCSP_check_nonce(request.get(), basic.get()) == 1;

  OcspCertIdPtr id(OCSP_cert_to_id(nullptr, pair.leaf.get(), pair.issuer.get()));
  int status = 0;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at,
                                   &this_update, &next_update) != 1) {
    ERR_clear_error();
    return Refused("it holds no answer for this certificate's CertID (issuer and serial)");
  }
  RevocationStatus out;
  CK_ASSIGN_OR_RETURN(TimePoint produced_for, AsnTimeToTime(this_update, "thisUpdate"));
  out.this_update = produced_for;
  if (next_update != nullptr) {
    CK_ASSIGN_OR_RETURN(TimePoint next, AsnTimeToTime(next_update, "nextUpdate"));
    out.next_update = next;
  }
  CK_RETURN_IF_ERROR(CheckUpdateTimes(*out.this_update, out.next_update, now, "the OCSP response"));
  if (!echoed && !out.next_update && *out.this_update < now - max_age_without_nonce) {
    return Refused("it echoes no nonce, names no nextUpdate and its thisUpdate " +
                   FormatRfc3339(*out.this_update) + " is too old to rule out a replay");
  }
  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      out.status = "good";
      break;
    case V_OCSP_CERTSTATUS_REVOKED: {
      out.status = "revoked";
      CK_ASSIGN_OR_RETURN(TimePoint at, AsnTimeToTime(revoked_at, "revocationTime"));
      out.revoked_at = at;
      out.reason = CrlReasonName(reason < 0 ? 0 : reason);
      break;
    }
    default:
      out.status = "unknown";
      break;
  }
  return out;
}

}  // namespace certkeeper::lifecycle
