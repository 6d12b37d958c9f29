#include "lifecycle/revocation_status.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <iterator>

#include "base/clock.h"
#include "base/crypto.h"

namespace certkeeper::lifecycle {

namespace {

bool IsHttpUrl(std::string_view url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

std::string UriOf(const GENERAL_NAME* name) {
  if (name == nullptr || name->type != GEN_URI) return "";
  const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
  std::string out(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                  static_cast<size_t>(ASN1_STRING_length(uri)));
  // A URL with control characters or spaces is not one to fetch or print.
  for (unsigned char c : out) {
    if (c <= 0x20 || c >= 0x7f) return "";
  }
  return IsHttpUrl(out) ? out : "";
}

X509Ptr ParsePem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

Result<CertPair> LoadCertPair(std::string_view leaf_pem, std::string_view chain_pem) {
  CertPair pair;
  pair.leaf = ParsePem(leaf_pem);
  if (!pair.leaf) {
    ERR_clear_error();
    return Status(ErrorCode::kInvalidArgument, "the certificate does not parse");
  }
  if (!chain_pem.empty()) {
    auto blocks = SplitPemCertificates(chain_pem);
    if (blocks.ok()) {
      for (const std::string& block : *blocks) {
        X509Ptr candidate = ParsePem(block);
        if (candidate && X509_check_issued(candidate.get(), pair.leaf.get()) == X509_V_OK) {
          pair.issuer = std::move(candidate);
          break;
        }
      }
    }
  }
  ERR_clear_error();
  return pair;
}

Status NeedIssuer(const CertPair& pair) {
  if (pair.leaf && pair.issuer) return Status::Ok();
  return Status(ErrorCode::kFailedPrecondition,
                "the chain holds no certificate that issued this certificate")
      .Hint("revocation answers are verified with the issuer's key: keep the issuing CA "
            "certificate in chain.pem (import a fullchain.pem)");
}

std::vector<std::string> OcspUrls(X509* leaf) {
  std::vector<std::string> urls;
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(leaf, NID_info_access, nullptr, nullptr));
  if (aia == nullptr) return urls;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    if (OBJ_obj2nid(ad->method) != NID_ad_OCSP) continue;
    if (std::string url = UriOf(ad->location); !url.empty()) urls.push_back(url);
  }
  AUTHORITY_INFO_ACCESS_free(aia);
  return urls;
}

std::vector<std::string> CrlUrls(X509* leaf) {
  std::vector<std::string> urls;
  auto* points = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(leaf, NID_crl_distribution_points, nullptr, nullptr));
  if (points == nullptr) return urls;
  for (int i = 0; i < sk_DIST_POINT_num(points); ++i) {
    const DIST_POINT* dp = sk_DIST_POINT_value(points, i);
    // A CRL issuer other than the certificate's (an indirect CRL) or a
    // partition by reasons would not answer for every reason: skipped.
    if (dp->distpoint == nullptr || dp->distpoint->type != 0 || dp->CRLissuer != nullptr ||
        dp->reasons != nullptr) {
      continue;
    }
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      if (std::string url = UriOf(sk_GENERAL_NAME_value(names, j)); !url.empty()) {
        urls.push_back(url);
      }
    }
  }
  CRL_DIST_POINTS_free(points);
  return urls;
}

Result<TimePoint> AsnTimeToTime(const ASN1_TIME* t, std::string_view field) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return Status(ErrorCode::kProtocol, std::string(field) + " is not a valid time");
  }
  const int year = tm.tm_year + 1900;
  if (year < 1970 || year > 9000) {
    return Status(ErrorCode::kProtocol, std::string(field) + " is in the year " +
                                            std::to_string(year) + ", out of range");
  }
  const time_t secs = timegm(&tm);
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::from_time_t(secs));
}

std::string CrlReasonName(int code) {
  // RFC 5280 §5.3.1; 7 is not used.
  static constexpr const char* kNames[] = {
      "unspecified",          "keyCompromise", "cACompromise",   "affiliationChanged",
      "superseded",           "cessationOfOperation", "certificateHold", "",
      "removeFromCRL",        "privilegeWithdrawn",   "aACompromise"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames)) && kNames[code][0] != '\0') {
    return kNames[code];
  }
  return "reason " + std::to_string(code);
}

Status CheckUpdateTimes(TimePoint this_update, const std::optional<TimePoint>& next_update,
                        TimePoint now, std::string_view what) {
  if (this_update > now + kRevocationSkew) {
    return Status(ErrorCode::kProtocol, std::string(what) + " has a thisUpdate in the future (" +
                                            FormatRfc3339(this_update) + ")")
        .Hint("check this host's clock");
  }
  if (next_update && *next_update < this_update) {
    return Status(ErrorCode::kProtocol,
                  std::string(what) + " has a nextUpdate before its thisUpdate");
  }
  if (next_update && *next_update < now - kRevocationSkew) {
    return Status(ErrorCode::kProtocol, std::string(what) + " is stale: its nextUpdate " +
                                            FormatRfc3339(*next_update) + " has passed")
        .Hint("the responder or CRL publisher serves an outdated answer; check this host's "
              "clock, or tell the CA");
  }
  return Status::Ok();
}

}  // namespace certkeeper::lifecycle
