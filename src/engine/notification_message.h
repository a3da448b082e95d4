// What a delivery of a notification sends, written from the notification: an email
// (an RFC 5322 message, text/plain in UTF-8), a webhook's JSON object, or Slack's
// incoming-webhook payload (`text` always, `blocks` as well). Links are absolute: the
// notification's web UI path behind the server's public base URL. An approval request
// carries its approve and deny magic links (Slack: buttons).
//
// Pure functions over values (the time is passed in); thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "store/notification_records.h"

namespace sw {

// Absolute URLs of an approval's magic link, one per decision the page offers.
struct ApprovalLinks {
  std::string approve_url;
  std::string deny_url;
};

// `base_url` + `path`, with one "/" between them.
std::string AbsoluteUrl(const std::string& base_url, const std::string& path);

// The magic link's page for a decision: `url` (absolute, "…/approve/<token>") with the
// decision the page preselects.
ApprovalLinks LinksForDecision(const std::string& url);

struct EmailEnvelope {
  std::string from;
  std::string to;
  int64_t now_ms = 0;      // the Date header
  std::string message_id;  // unique, without the angle brackets ("dlv_…@stepwell")
};

// The whole message, CRLF line ends: Date, From, To, Subject (RFC 2047 encoded when
// not plain ASCII), Message-ID, MIME-Version, Content-Type text/plain; charset=UTF-8,
// a body in 7bit when it can be, else base64. Header values lose their control
// characters, so a title cannot add a header.
std::string BuildEmail(const NotificationRecord& n, const EmailEnvelope& envelope,
                       const std::string& base_url, const std::optional<ApprovalLinks>& links);

// {"id", "kind", "title", "body", "link", "url", "subject", "created_at"}.
nlohmann::json BuildWebhookJson(const NotificationRecord& n, const std::string& base_url);

// {"text", "blocks"}: the title and body as a section, then buttons (Approve and Deny
// when `links`, and Open). Slack's control characters (&, <, >) are escaped.
nlohmann::json BuildSlackMessage(const NotificationRecord& n, const std::string& base_url,
                                 const std::optional<ApprovalLinks>& links);

}  // namespace sw
