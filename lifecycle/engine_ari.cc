// Renewal information (RFC 9773): engine_ari.h.
#include "base/log.h"
#include "lifecycle/ari_window.h"
#include "lifecycle/engine_ari.h"

namespace certkeeper::lifecycle {

namespace {

// How long a remembered directory answers "does the CA offer renewalInfo?".
constexpr Duration kDirectoryMaxAge = std::chrono::hours(24);

// After this many consecutive renewalInfo fetches that could not reach the CA
// in one run, the rest of the run uses what is stored.
constexpr int kAriUnavailableThreshold = 3;

}  // namespace

std::optional<AriSchedule> StoredAriSchedule(
    const std::optional<store::RenewalInfoRecord>& info, int live_version) {
  if (!info || info->version != live_version || !info->window_start || !info->window_end ||
      !info->chosen_at) {
    return std::nullopt;
  }
  return AriSchedule{AriWindow{*info->window_start, *info->window_end}, *info->chosen_at};
}

void RenewalInfoTracker::ForgetDirectory() {
  unavailable_streak_ = 0;
  std::lock_guard<std::mutex> lock(mu_);
  cas_.clear();
}

void RenewalInfoTracker::RememberDirectory(size_t ca, const acme::Directory& directory) {
  std::lock_guard<std::mutex> lock(mu_);
  PerCa& state = cas_[ca];
  state.renewal_info_url = directory.renewal_info;
  if (state.directory_recorded) return;
  store::CaDirectory row{accounts_.Settings(ca).server, directory.renewal_info,
                         ctx_.clock->Now(), ""};
  Status s = ctx_.inventory->PutCaDirectory(row);
  if (!s.ok()) log::Warn("cannot record the CA directory", {{"error", s.ToString()}});
  state.directory_recorded = s.ok();
}

Result<std::string> RenewalInfoTracker::RenewalInfoUrl(size_t ca) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    PerCa& state = cas_[ca];
    if (state.renewal_info_url) return *state.renewal_info_url;
    if (!state.directory_error.ok()) return state.directory_error;
    const TimePoint now = ctx_.clock->Now();
    auto stored = ctx_.inventory->FindCaDirectory(accounts_.Settings(ca).server);
    if (stored.ok() && stored->has_value() && (*stored)->fetched_at <= now &&
        now - (*stored)->fetched_at < kDirectoryMaxAge) {
      state.renewal_info_url = (*stored)->renewal_info_url;
      return *state.renewal_info_url;
    }
  }
  auto client = accounts_.BareClient(ca);
  Result<acme::Directory> directory =
      client.ok() ? (*client)->GetDirectory() : Result<acme::Directory>(client.status());
  if (!directory.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    cas_[ca].directory_error = directory.status();
    return directory.status();
  }
  RememberDirectory(ca, *directory);
  return directory->renewal_info;
}

std::optional<store::RenewalInfoRecord> RenewalInfoTracker::Refresh(
    const std::string& name, const store::Version& live,
    const std::optional<store::RenewalInfoRecord>& stored) {
  const TimePoint now = ctx_.clock->Now();
  std::optional<store::RenewalInfoRecord> current;
  if (stored && stored->version == live.n) current = stored;
  if (current && current->next_fetch_at > now) return current;
  if (unavailable_streak_ >= kAriUnavailableThreshold) return current;

  const size_t ca = accounts_.IndexOfServer(live.server).value_or(0);
  auto url = RenewalInfoUrl(ca);
  if (!url.ok()) return current;         // the CA is unreachable: use what is stored
  if (url->empty()) return std::nullopt;  // the CA offers none (any more)
  auto files = ctx_.layout->ReadVersion(name, live.n);
  if (!files.ok()) {
    log::Warn("cannot read the live certificate for renewal information",
              {{"certificate", name}, {"error", files.status().ToString()}});
    return current;
  }
  auto client = accounts_.BareClient(ca);
  if (!client.ok()) return current;
  // At the remembered URL: no directory request when nothing else needs one.
  auto info = (*client)->GetRenewalInfo(*url, files->cert_pem);

  store::RenewalInfoRecord next = current.value_or(store::RenewalInfoRecord{});
  next.version = live.n;
  std::optional<TimePoint> retry_after;
  if (!info.ok()) {
    if (info.status().code() == ErrorCode::kUnavailable) {
      unavailable_streak_++;
    } else {
      unavailable_streak_ = 0;
    }
    retry_after = info.status().retry_after();
    log::Warn("renewal information not available; using the local renewal window",
              {{"certificate", name}, {"error", info.status().ToString()}});
  } else {
    unavailable_streak_ = 0;
    retry_after = info->retry_after;
    ApplyWindow(name, *info, *url, now, next);
  }
  // §4.3: ask again after Retry-After, within sane bounds.
  next.next_fetch_at = NextAriFetch(now, retry_after);
  Status s = ctx_.inventory->SetRenewalInfo(name, next);
  if (!s.ok()) log::Warn("cannot record renewal information", {{"error", s.ToString()}});
  return next;
}

void RenewalInfoTracker::ApplyWindow(const std::string& name, const acme::RenewalInfo& info,
                                     const std::string& url, TimePoint now,
                                     store::RenewalInfoRecord& next) {
  AriWindow window{info.window_start, info.window_end};
  Status valid = ValidateAriWindow(window, url);
  if (!valid.ok()) {
    log::Warn("renewal information ignored", {{"certificate", name}, {"error", valid.ToString()}});
    return;
  }
  if (next.window_start == window.start && next.window_end == window.end && next.chosen_at) {
    return;
  }
  // §4.2: a new window gets a new random time; an unchanged one keeps it.
  next.window_start = window.start;
  next.window_end = window.end;
  next.chosen_at = ChooseRenewalTime(window, now, *ctx_.random);
  next.explanation_url = info.explanation_url;
  std::string message = "window " + FormatRfc3339(window.start) + " to " +
                        FormatRfc3339(window.end) + ", renew at " +
                        FormatRfc3339(*next.chosen_at);
  if (!info.explanation_url.empty()) message += " (" + info.explanation_url + ")";
  ctx_.Event(name, "renewal-info", message);
  log::Info("renewal information from the CA",
            {{"certificate", name},
             {"window_start", FormatRfc3339(window.start)},
             {"window_end", FormatRfc3339(window.end)},
             {"renew_at", FormatRfc3339(*next.chosen_at)}});
}

}  // namespace certkeeper::lifecycle
