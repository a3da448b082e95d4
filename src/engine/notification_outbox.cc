#include "engine/notification_outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "core/retry.h"
#include "core/thread_name.h"

namespace sw {

namespace {

// How far ahead a look at the store reads pending deliveries, to know when the next
// back-off ends.
constexpr int64_t kHorizonMs = 60 * 1000;
// Of a failing receiver's answer, what last_error keeps.
constexpr size_t kMaxErrorBody = 200;

Status WebhookOutcome(const Result<HttpResponse>& r) {
  if (!r.ok()) {
    return r.status();
  }
  if (r->status >= 200 && r->status < 300) {
    return Status::Ok();
  }
  std::string message = "HTTP " + std::to_string(r->status);
  if (!r->body.empty()) {
    message += ": " + r->body.substr(0, kMaxErrorBody);
  }
  return Status(StatusCode::kUnavailable, message, "webhook_error");
}

// Who a magic link is minted for: the email's address, or the webhook's delivery (its
// URL may hold a secret, so it is not named).
std::string Recipient(const DeliveryRecord& d) {
  return d.channel == DeliveryChannel::kEmail ? d.target : "webhook:" + d.id;
}

}  // namespace

void NotificationOutbox::Mailbox::Push(Finished f) {
  {
    std::lock_guard lock(mu);
    if (stopping) {
      return;  // stays pending in the store: sent again after a restart
    }
    finished.push_back(std::move(f));
  }
  cv.notify_all();
}

NotificationOutbox::NotificationOutbox(Store& store, const Clock& clock, HttpClient& http,
                                       SmtpClient* smtp, LinkMinter mint, OutboxOptions options)
    : store_(store),
      clock_(clock),
      http_(http),
      smtp_(smtp),
      mint_(std::move(mint)),
      options_(std::move(options)),
      mailbox_(std::make_shared<Mailbox>()) {}

NotificationOutbox::~NotificationOutbox() { Stop(); }

void NotificationOutbox::Start() {
  thread_ = std::thread([this] {
    NameThisThread("sw-outbox");
    Loop();
  });
}

void NotificationOutbox::Stop() {
  {
    std::lock_guard lock(mailbox_->mu);
    mailbox_->stopping = true;
  }
  mailbox_->cv.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  for (auto& [id, token] : in_flight_) {
    if (token) {
      token->Fire(CancelReason::kShutdown);
    }
  }
  in_flight_.clear();
}

void NotificationOutbox::Poke() {
  {
    std::lock_guard lock(mailbox_->mu);
    mailbox_->poked = true;
  }
  mailbox_->cv.notify_all();
}

void NotificationOutbox::Loop() {
  while (true) {
    std::deque<Finished> finished;
    {
      std::lock_guard lock(mailbox_->mu);
      if (mailbox_->stopping) {
        return;
      }
      finished.swap(mailbox_->finished);
      mailbox_->poked = false;
    }
    for (const Finished& f : finished) {
      Record(f);
    }
    const int64_t now = clock_.NowMs();
    const int64_t next_due = DispatchDue(now);
    int64_t wait_ms = options_.poll_ms;
    if (next_due > now) {
      wait_ms = std::min(wait_ms, next_due - now);
    }
    std::unique_lock lock(mailbox_->mu);
    mailbox_->cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, wait_ms)), [&] {
      return mailbox_->stopping || mailbox_->poked || !mailbox_->finished.empty();
    });
  }
}

int64_t NotificationOutbox::DispatchDue(int64_t now) {
  if (in_flight_.size() >= static_cast<size_t>(options_.max_in_flight)) {
    return 0;  // a send that finishes wakes the loop
  }
  // Those in flight are read again (they are still pending): read past them.
  const int limit = options_.batch + static_cast<int>(in_flight_.size());
  Result<std::vector<OutboxItem>> items = store_.DueDeliveries(now + kHorizonMs, limit);
  if (!items.ok()) {
    spdlog::warn("outbox: reading due deliveries failed: {}", items.status().message());
    return 0;
  }
  int64_t next_due = 0;
  size_t due = 0;  // due now and not in flight here (perhaps in flight elsewhere)
  for (const OutboxItem& item : *items) {
    if (item.delivery.next_attempt_at > now) {
      next_due = item.delivery.next_attempt_at;  // the soonest not yet due (items are sorted)
      break;
    }
    due += in_flight_.contains(item.delivery.id) ? 0 : 1;
  }
  if (due > 0) {
    ClaimAndDispatch(now);
  }
  return next_due;
}

void NotificationOutbox::ClaimAndDispatch(int64_t now) {
  // Only what this instance claimed is sent here: another instance's outbox sees the same
  // due deliveries. Its own in flight come back with the claim (still pending, still its
  // own): asked for past them.
  const size_t free = static_cast<size_t>(options_.max_in_flight) - in_flight_.size();
  const int limit =
      static_cast<int>(std::min(free, static_cast<size_t>(options_.batch)) + in_flight_.size());
  Result<std::vector<OutboxItem>> claimed =
      store_.ClaimDueDeliveries(options_.claimer, now, options_.claim_ms, limit);
  if (!claimed.ok()) {
    spdlog::warn("outbox: claiming due deliveries failed: {}", claimed.status().message());
    return;
  }
  for (const OutboxItem& item : *claimed) {
    if (in_flight_.size() >= static_cast<size_t>(options_.max_in_flight)) {
      break;  // claimed, and sent at a later look (the claim is this instance's)
    }
    if (!in_flight_.contains(item.delivery.id)) {
      Dispatch(item, now);
    }
  }
}

void NotificationOutbox::Dispatch(const OutboxItem& item, int64_t now) {
  in_flight_.emplace(item.delivery.id, nullptr);
  const std::optional<ApprovalLinks> links = MintLinks(item);
  if (item.delivery.channel == DeliveryChannel::kWebhook) {
    SendWebhook(item, links);
  } else {
    SendEmail(item, links, now);
  }
}

std::optional<ApprovalLinks> NotificationOutbox::MintLinks(const OutboxItem& item) {
  const nlohmann::json& subject = item.notification.subject;
  if (!mint_ || item.delivery.format == DeliveryFormat::kJson || !subject.is_object() ||
      !subject.contains("approval_id") || !subject["approval_id"].is_string()) {
    return std::nullopt;
  }
  const std::string approval_id = subject["approval_id"].get<std::string>();
  Result<std::string> path = mint_(approval_id, Recipient(item.delivery));
  if (!path.ok()) {
    spdlog::warn("outbox: no magic link for approval {} in delivery {}: {}", approval_id,
                 item.delivery.id, path.status().message());
    return std::nullopt;
  }
  return LinksForDecision(AbsoluteUrl(options_.public_url, *path));
}

void NotificationOutbox::SendWebhook(const OutboxItem& item,
                                     const std::optional<ApprovalLinks>& links) {
  const NotificationRecord& n = item.notification;
  HttpRequest request;
  request.method = "POST";
  request.url = item.delivery.target;
  request.headers = {{"Content-Type", "application/json"}, {"User-Agent", "Stepwell"}};
  request.body = (item.delivery.format == DeliveryFormat::kSlack
                      ? BuildSlackMessage(n, options_.public_url, links)
                      : BuildWebhookJson(n, options_.public_url))
                     .dump();
  request.timeout_ms = options_.webhook_timeout_ms;
  auto token = std::make_shared<CancellationToken>();
  in_flight_[item.delivery.id] = token;
  http_.Send(std::move(request), token,
             [mailbox = mailbox_, delivery = item.delivery](Result<HttpResponse> r) {
               mailbox->Push(Finished{delivery, WebhookOutcome(r)});
             });
}

void NotificationOutbox::SendEmail(const OutboxItem& item,
                                   const std::optional<ApprovalLinks>& links, int64_t now) {
  if (smtp_ == nullptr || options_.smtp_from.empty()) {
    mailbox_->Push(
        Finished{item.delivery,
                 Status(StatusCode::kFailedPrecondition,
                        "email is not configured: start the server with --smtp-url and --smtp-from",
                        "smtp_not_configured"),
                 /*permanent=*/true});
    return;
  }
  EmailEnvelope envelope{
      options_.smtp_from, item.delivery.target, now,
      item.delivery.id + "." + std::to_string(item.delivery.attempts) + "@stepwell"};
  std::string message = BuildEmail(item.notification, envelope, options_.public_url, links);
  smtp_->Send(options_.smtp_from, item.delivery.target, std::move(message),
              [mailbox = mailbox_, delivery = item.delivery](Status s) {
                mailbox->Push(Finished{delivery, std::move(s)});
              });
}

void NotificationOutbox::Record(const Finished& f) {
  in_flight_.erase(f.delivery.id);
  const int64_t now = clock_.NowMs();
  const int attempts = f.delivery.attempts + 1;
  DeliveryAttempt a;
  a.delivery_id = f.delivery.id;
  a.expected_attempts = f.delivery.attempts;
  a.now = now;
  if (f.outcome.ok()) {
    a.status = DeliveryStatus::kDelivered;
  } else {
    a.error = f.outcome.message();
    if (f.permanent || attempts >= options_.max_attempts) {
      a.status = DeliveryStatus::kFailed;
    } else {
      RetryPolicy backoff;
      backoff.initial = std::chrono::milliseconds(options_.first_backoff_ms);
      backoff.max = std::chrono::milliseconds(options_.max_backoff_ms);
      a.status = DeliveryStatus::kPending;
      a.next_attempt_at = now + RetryDelay(backoff, attempts + 1, 0.5).count();
    }
    spdlog::warn("event=delivery.failed delivery={} channel={} attempt={} status={} error={}",
                 f.delivery.id, ToString(f.delivery.channel), attempts, ToString(a.status),
                 a.error);
  }
  Status s = store_.FinishDeliveryAttempt(a);
  if (!s.ok() && s.code() != StatusCode::kAborted) {
    // It stays pending as it was: the next look sends it again.
    spdlog::warn("outbox: recording delivery {} failed: {}", f.delivery.id, s.message());
  }
}

}  // namespace sw
