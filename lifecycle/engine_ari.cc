// ACME Renewal Information (RFC 9773) on timer runs: each live certificate's
// suggested window is fetched when its stored next-fetch time has come, a
// renewal time is chosen inside it once (and kept while the window does not
// change), and both are stored so that the next run decides without asking.
// Whether the CA offers renewal information at all is remembered from its
// directory, so a run over a CA without it sends no request.
#include "base/log.h"
#include "lifecycle/ari_window.h"
#include "lifecycle/engine_impl.h"

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

void EngineImpl::ForgetDirectory() {
  std::lock_guard<std::mutex> lock(ari_mu_);
  renewal_info_url_.reset();
  directory_error_ = Status::Ok();
  directory_recorded_ = false;
}

void EngineImpl::RememberDirectory(const acme::Directory& directory) {
  std::lock_guard<std::mutex> lock(ari_mu_);
  renewal_info_url_ = directory.renewal_info;
  if (directory_recorded_) return;
  store::CaDirectory row{config_.acme.server, directory.renewal_info, clock_->Now()};
  Status s = inventory_->PutCaDirectory(row);
  if (!s.ok()) log::Warn("cannot record the CA directory", {{"error", s.ToString()}});
  directory_recorded_ = s.ok();
}

Result<std::string> EngineImpl::RenewalInfoUrl() {
  {
    std::lock_guard<std::mutex> lock(ari_mu_);
    if (renewal_info_url_) return *renewal_info_url_;
    if (!directory_error_.ok()) return directory_error_;
    const TimePoint now = clock_->Now();
    auto stored = inventory_->FindCaDirectory(config_.acme.server);
    if (stored.ok() && stored->has_value() && (*stored)->fetched_at <= now &&
        now - (*stored)->fetched_at < kDirectoryMaxAge) {
      renewal_info_url_ = (*stored)->renewal_info_url;
      return *renewal_info_url_;
    }
  }
  auto client = BareClient();
  Result<acme::Directory> directory =
      client.ok() ? (*client)->GetDirectory() : Result<acme::Directory>(client.status());
  if (!directory.ok()) {
    std::lock_guard<std::mutex> lock(ari_mu_);
    directory_error_ = directory.status();
    return directory_error_;
  }
  RememberDirectory(*directory);
  return directory->renewal_info;
}

std::optional<store::RenewalInfoRecord> EngineImpl::RefreshRenewalInfo(
    const std::string& name, const store::Version& live,
    const std::optional<store::RenewalInfoRecord>& stored) {
  const TimePoint now = clock_->Now();
  std::optional<store::RenewalInfoRecord> current;
  if (stored && stored->version == live.n) current = stored;
  if (current && current->next_fetch_at > now) return current;
  if (ari_unavailable_streak_ >= kAriUnavailableThreshold) return current;

  auto url = RenewalInfoUrl();
  if (!url.ok()) return current;         // the CA is unreachable: use what is stored
  if (url->empty()) return std::nullopt;  // the CA offers none (any more)
  auto files = layout_.ReadVersion(name, live.n);
  if (!files.ok()) {
    log::Warn("cannot read the live certificate for renewal information",
              {{"certificate", name}, {"error", files.status().ToString()}});
    return current;
  }
  auto client = BareClient();
  if (!client.ok()) return current;
  // At the remembered URL: no directory request when nothing else needs one.
  auto info = (*client)->GetRenewalInfo(*url, files->cert_pem);

  store::RenewalInfoRecord next = current.value_or(store::RenewalInfoRecord{});
  next.version = live.n;
  std::optional<TimePoint> retry_after;
  if (!info.ok()) {
    if (info.status().code() == ErrorCode::kUnavailable) {
      ari_unavailable_streak_++;
    } else {
      ari_unavailable_streak_ = 0;
    }
    retry_after = info.status().retry_after();
    log::Warn("renewal information not available; using the local renewal window",
              {{"certificate", name}, {"error", info.status().ToString()}});
  } else {
    ari_unavailable_streak_ = 0;
    retry_after = info->retry_after;
    AriWindow window{info->window_start, info->window_end};
    Status valid = ValidateAriWindow(window, *url);
    if (!valid.ok()) {
      log::Warn("renewal information ignored", {{"certificate", name}, {"error", valid.ToString()}});
    } else if (next.window_start != window.start || next.window_end != window.end ||
               !next.chosen_at) {
      // §4.2: a new window gets a new random time; an unchanged one keeps it.
      next.window_start = window.start;
      next.window_end = window.end;
      next.chosen_at = ChooseRenewalTime(window, now, random_);
      next.explanation_url = info->explanation_url;
      std::string message = "window " + FormatRfc3339(window.start) + " to " +
                            FormatRfc3339(window.end) + ", renew at " +
                            FormatRfc3339(*next.chosen_at);
      if (!info->explanation_url.empty()) message += " (" + info->explanation_url + ")";
      Event(name, "renewal-info", message);
      log::Info("renewal information from the CA",
                {{"certificate", name},
                 {"window_start", FormatRfc3339(window.start)},
                 {"window_end", FormatRfc3339(window.end)},
                 {"renew_at", FormatRfc3339(*next.chosen_at)}});
    }
  }
  // §4.3: ask again after Retry-After, within sane bounds.
  next.next_fetch_at = NextAriFetch(now, retry_after);
  Status s = inventory_->SetRenewalInfo(name, next);
  if (!s.ok()) log::Warn("cannot record renewal information", {{"error", s.ToString()}});
  return next;
}

}  // namespace certkeeper::lifecycle
