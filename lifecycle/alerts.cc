#include "lifecycle/alerts.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "base/dirfd.h"
#include "base/log.h"
#include "base/text.h"

namespace certkeeper::lifecycle {

namespace {

using Key = std::pair<std::string, std::string>;  // (event, subject)

constexpr size_t kMaxStoredErrorBytes = 512;
// How far back the newest delivery of a version is looked for.
constexpr int kDeliveryLookback = 20;

bool SameRow(const store::AlertState& a, const store::AlertState& b) {
  return std::tie(a.alert, a.event, a.subject, a.state, a.since, a.ended_at, a.detail, a.notified,
                  a.failures, a.next_try_at, a.last_error) ==
         std::tie(b.alert, b.event, b.subject, b.state, b.since, b.ended_at, b.detail, b.notified,
                  b.failures, b.next_try_at, b.last_error);
}

bool RowBefore(const store::AlertState& a, const store::AlertState& b) {
  size_t ia = AlertEventIndex(a.event), ib = AlertEventIndex(b.event);
  return ia != ib ? ia < ib : std::tie(a.event, a.subject) < std::tie(b.event, b.subject);
}

void ClearDelivery(store::AlertState& row) {
  row.failures = 0;
  row.next_try_at.reset();
  row.last_error.clear();
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return SanitizeUtf8(buf);
}

AlertItem ItemOf(const store::AlertState& row) {
  return AlertItem{row.event, row.subject, row.detail, row.since,
                   row.state == "resolved" ? row.ended_at : std::nullopt};
}

}  // namespace

Duration AlertRetryDelay(int failures) {
  const int doublings = std::clamp(failures, 1, 7) - 1;
  return std::min<Duration>(std::chrono::minutes(1) * (1 << doublings), std::chrono::hours(1));
}

AlertPlan PlanAlert(const AlertSettings& alert, const std::vector<AlertCondition>& conditions,
                    const std::vector<store::AlertState>& stored, TimePoint now) {
  AlertPlan plan;
  std::map<Key, const AlertCondition*> current;
  for (const AlertCondition& c : conditions) current.emplace(Key{c.event, c.subject}, &c);
  std::map<Key, bool> seen;
  for (const store::AlertState& old : stored) {
    store::AlertState row = old;
    auto it = current.find(Key{old.event, old.subject});
    seen[Key{old.event, old.subject}] = true;
    if (it != current.end()) {
      row.detail = it->second->detail;
      if (row.state == "resolved") {
        // Its end was never delivered: the receiver still has it firing.
        row.state = "firing";
        row.ended_at.reset();
        row.notified = true;
        ClearDelivery(row);
      }
    } else if (row.state == "firing" && !row.notified) {
      plan.remove.push_back(old);
      continue;
    } else if (row.state == "firing") {
      row.state = "resolved";
      row.ended_at = now;
      row.notified = false;
      ClearDelivery(row);
    }
    plan.rows.push_back(std::move(row));
  }
  for (const AlertCondition& c : conditions) {
    if (seen.count(Key{c.event, c.subject})) continue;
    store::AlertState row;
    row.alert = alert.name;
    row.event = c.event;
    row.subject = c.subject;
    row.state = "firing";
    row.since = now;
    row.detail = c.detail;
    plan.rows.push_back(std::move(row));
  }
  std::sort(plan.rows.begin(), plan.rows.end(), RowBefore);

  std::vector<size_t> pending;
  for (const char* state : {"firing", "resolved"}) {
    for (size_t i = 0; i < plan.rows.size(); ++i) {
      if (!plan.rows[i].notified && plan.rows[i].state == state) pending.push_back(i);
    }
  }
  if (pending.empty()) return plan;
  if (alert.quiet_until && now < *alert.quiet_until) {
    plan.held = "quiet until " + FormatRfc3339(*alert.quiet_until);
    return plan;
  }
  std::optional<TimePoint> retry;
  for (size_t i : pending) {
    const auto& next = plan.rows[i].next_try_at;
    if (next && *next > now && (!retry || *next > *retry)) retry = next;
  }
  if (retry) {
    plan.held = "retry after " + FormatRfc3339(*retry);
    return plan;
  }
  const size_t n = std::min(pending.size(), kMaxConditionsPerNotification);
  plan.send.assign(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
  plan.more_pending = pending.size() - n;
  return plan;
}

Alerter::Alerter(const EngineContext& ctx) : ctx_(ctx), sender_(&target_sender_) {}

Result<DeliverySteps> Alerter::NewestDeliveries(const MonitorSnapshot& snapshot) {
  DeliverySteps out;
  for (const CertificateView& c : snapshot.certificates) {
    if (!c.newest || c.newest->state != "deploy_failed") continue;
    CK_ASSIGN_OR_RETURN(std::vector<store::Attempt> attempts,
                        ctx_.inventory->ListAttempts(c.name, kDeliveryLookback));
    for (const store::Attempt& a : attempts) {
      AttemptView view = ToView(a);
      if (std::any_of(view.steps.begin(), view.steps.end(),
                      [&](const StepView& s) { return IsDeliveryStep(s, c); })) {
        out[c.name] = std::move(view.steps);
        break;
      }
    }
  }
  return out;
}

Result<AlertReport> Alerter::Evaluate(const MonitorSnapshot& snapshot) {
  CK_ASSIGN_OR_RETURN(std::vector<store::AlertState> all, ctx_.inventory->ListAlertStates());
  CK_ASSIGN_OR_RETURN(DeliverySteps deliveries, NewestDeliveries(snapshot));
  AlertReport report;
  std::map<std::string, std::vector<store::AlertState>> by_alert;
  for (store::AlertState& row : all) by_alert[row.alert].push_back(std::move(row));
  for (const AlertSettings& alert : ctx_.config->alerts) {
    CK_ASSIGN_OR_RETURN(std::optional<AlertDelivery> delivery,
                        EvaluateOne(alert, snapshot, deliveries, by_alert[alert.name]));
    if (delivery) report.deliveries.push_back(std::move(*delivery));
    by_alert.erase(alert.name);
  }
  // An alert removed from the config: its conditions are no one's to notify.
  for (const auto& [name, rows] : by_alert) {
    for (const store::AlertState& row : rows) {
      CK_RETURN_IF_ERROR(ctx_.inventory->DeleteAlertState(row.alert, row.event, row.subject));
    }
  }
  return report;
}

Result<std::optional<AlertDelivery>> Alerter::EvaluateOne(
    const AlertSettings& alert, const MonitorSnapshot& snapshot, const DeliverySteps& deliveries,
    const std::vector<store::AlertState>& stored) {
  const TimePoint now = ctx_.clock->Now();
  AlertPlan plan = PlanAlert(alert, AlertConditions(snapshot, alert, deliveries), stored, now);
  for (const store::AlertState& row : plan.remove) {
    CK_RETURN_IF_ERROR(ctx_.inventory->DeleteAlertState(row.alert, row.event, row.subject));
  }
  std::optional<AlertDelivery> delivery;
  if (!plan.send.empty()) {
    AlertNotification n;
    n.alert = alert.name;
    n.host = HostName();
    n.at = now;
    n.id = fs::RandomName();
    n.more_pending = plan.more_pending;
    for (size_t i : plan.send) {
      const store::AlertState& row = plan.rows[i];
      (row.state == "firing" ? n.firing : n.resolved).push_back(ItemOf(row));
    }
    delivery = AlertDelivery{alert.name, alert.type, static_cast<int>(n.firing.size()),
                             static_cast<int>(n.resolved.size()), sender_->Send(alert, n)};
    int failures = 0;
    for (size_t i : plan.send) failures = std::max(failures, plan.rows[i].failures);
    for (size_t i : plan.send) {
      store::AlertState& row = plan.rows[i];
      if (delivery->status.ok()) {
        row.notified = true;
        ClearDelivery(row);
      } else {
        row.failures = failures + 1;
        row.next_try_at = now + AlertRetryDelay(row.failures);
        row.last_error =
            std::string(Utf8Prefix(SanitizeUtf8(delivery->status.ToString()), kMaxStoredErrorBytes));
      }
    }
    if (delivery->status.ok()) {
      log::Info("alert sent", {{"alert", alert.name},
                               {"firing", std::to_string(delivery->firing)},
                               {"resolved", std::to_string(delivery->resolved)}});
    } else {
      store::Event event;
      event.at = now;
      event.kind = "alert-failed";
      event.message = "alert " + alert.name + " (" + alert.type + "): delivery " +
                      std::to_string(failures + 1) + " failed, next try at " +
                      FormatRfc3339(now + AlertRetryDelay(failures + 1)) + ": " +
                      delivery->status.ToString();
      auto added = ctx_.inventory->AddEvent(event);
      if (!added.ok()) {
        log::Warn("cannot record the failed alert delivery",
                  {{"alert", alert.name}, {"error", added.status().ToString()}});
      }
    }
  } else if (!plan.held.empty()) {
    log::Info("alert held", {{"alert", alert.name}, {"why", plan.held}});
  }
  std::map<Key, const store::AlertState*> before;
  for (const store::AlertState& row : stored) before[Key{row.event, row.subject}] = &row;
  for (const store::AlertState& row : plan.rows) {
    auto it = before.find(Key{row.event, row.subject});
    if (it != before.end() && SameRow(*it->second, row)) continue;
    if (row.state == "resolved" && row.notified) {
      CK_RETURN_IF_ERROR(ctx_.inventory->DeleteAlertState(row.alert, row.event, row.subject));
    } else {
      CK_RETURN_IF_ERROR(ctx_.inventory->PutAlertState(row));
    }
  }
  return delivery;
}

}  // namespace certkeeper::lifecycle
