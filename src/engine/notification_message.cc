#include "engine/notification_message.h"

#include <openssl/evp.h>

#include <ctime>
#include <string_view>
#include <vector>

#include "core/time_format.h"

namespace sw {

using nlohmann::json;

namespace {

// RFC 5322 limits a line to 998 characters; bodies are wrapped well below it.
constexpr size_t kMaxLine = 998;
constexpr size_t kBase64Line = 76;
// Bytes of UTF-8 per RFC 2047 encoded word: 45 bytes are 60 base64 characters, so a
// word stays under the limit of 75.
constexpr size_t kEncodedWordBytes = 45;
// Slack refuses a section's text over 3,000 characters.
constexpr size_t kMaxSlackText = 2900;

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

bool IsPlainAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) {
      return false;
    }
  }
  return true;
}

// The length of the longest prefix of `s` of at most `max` bytes that does not cut a
// UTF-8 character.
size_t Utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) {
    return s.size();
  }
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
  }
  return n;
}

// A header value: control characters (CR, LF, ...) become spaces.
std::string HeaderValue(std::string_view s) {
  std::string out(s.substr(0, Utf8Prefix(s, kMaxLine - 100)));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return out;
}

// RFC 2047: plain ASCII as it is, else base64 encoded words on folded lines.
std::string EncodeHeaderText(const std::string& text) {
  if (IsPlainAscii(text)) {
    return text;
  }
  std::string out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t n = Utf8Prefix(rest, kEncodedWordBytes);
    if (!out.empty()) {
      out += "\r\n ";
    }
    out += "=?UTF-8?B?" + Base64(rest.substr(0, n)) + "?=";
    rest.remove_prefix(n);
  }
  return out;
}

// "Tue, 01 Jul 2025 10:00:00 +0000", in English whatever the locale.
std::string Rfc5322Date(int64_t now_ms) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// `text` with CRLF line ends (a lone LF or CR becomes CRLF).
std::string WithCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

bool HasLongLine(std::string_view text) {
  size_t line = 0;
  for (char c : text) {
    line = c == '\n' ? 0 : line + 1;
    if (line > kMaxLine - 2) {
      return true;
    }
  }
  return false;
}

std::string EmailText(const NotificationRecord& n, const std::string& base_url,
                      const std::optional<ApprovalLinks>& links) {
  std::string text = n.title + "\n\n";
  if (!n.body.empty()) {
    text += n.body + "\n\n";
  }
  if (links) {
    text += "Approve: " + links->approve_url + "\n";
    text += "Deny: " + links->deny_url + "\n\n";
  }
  if (!n.link.empty()) {
    text += "Open in Stepwell: " + AbsoluteUrl(base_url, n.link) + "\n";
  }
  return text;
}

// Escapes what Slack's mrkdwn reads as control characters.
std::string SlackEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

json SlackButton(const char* text, const std::string& url, const char* action_id,
                 const char* style) {
  json button = {{"type", "button"},
                 {"text", {{"type", "plain_text"}, {"text", text}}},
                 {"url", url},
                 {"action_id", action_id}};
  if (style != nullptr) {
    button["style"] = style;
  }
  return button;
}

}  // namespace

std::string AbsoluteUrl(const std::string& base_url, const std::string& path) {
  if (path.empty()) {
    return base_url;
  }
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base + (path.front() == '/' ? "" : "/") + path;
}

ApprovalLinks LinksForDecision(const std::string& url) {
  const char sep = url.find('?') == std::string::npos ? '?' : '&';
  return ApprovalLinks{url + sep + "decision=approve", url + sep + "decision=deny"};
}

std::string BuildEmail(const NotificationRecord& n, const EmailEnvelope& envelope,
                       const std::string& base_url, const std::optional<ApprovalLinks>& links) {
  const std::string text = EmailText(n, base_url, links);
  const bool seven_bit = IsPlainAscii(text) && !HasLongLine(text);
  std::string body;
  if (seven_bit) {
    body = WithCrlf(text);
  } else {
    const std::string encoded = Base64(WithCrlf(text));
    for (size_t at = 0; at < encoded.size(); at += kBase64Line) {
      body += encoded.substr(at, kBase64Line) + "\r\n";
    }
  }
  std::string m;
  m += "Date: " + Rfc5322Date(envelope.now_ms) + "\r\n";
  m += "From: " + HeaderValue(envelope.from) + "\r\n";
  m += "To: " + HeaderValue(envelope.to) + "\r\n";
  m += "Subject: " + EncodeHeaderText(HeaderValue(n.title)) + "\r\n";
  m += "Message-ID: <" + HeaderValue(envelope.message_id) + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += std::string("Content-Transfer-Encoding: ") + (seven_bit ? "7bit" : "base64") + "\r\n";
  m += "\r\n";
  return m + body;
}

json BuildWebhookJson(const NotificationRecord& n, const std::string& base_url) {
  return json{{"id", n.id},           {"kind", n.kind},
              {"title", n.title},     {"body", n.body},
              {"link", n.link},       {"url", AbsoluteUrl(base_url, n.link)},
              {"subject", n.subject}, {"created_at", FormatTime(n.created_at)}};
}

json BuildSlackMessage(const NotificationRecord& n, const std::string& base_url,
                       const std::optional<ApprovalLinks>& links) {
  std::string section = "*" + SlackEscape(n.title) + "*";
  if (!n.body.empty()) {
    section += "\n" + SlackEscape(n.body);
  }
  section = section.substr(0, Utf8Prefix(section, kMaxSlackText));
  const std::string open_url = AbsoluteUrl(base_url, n.link);
  std::string text = section + "\n<" + open_url + "|Open in Stepwell>";
  json buttons = json::array();
  if (links) {
    text +=
        "\nApprove: <" + links->approve_url + "|approve> · Deny: <" + links->deny_url + "|deny>";
    buttons.push_back(SlackButton("Approve", links->approve_url, "approve", "primary"));
    buttons.push_back(SlackButton("Deny", links->deny_url, "deny", "danger"));
  }
  buttons.push_back(SlackButton("Open in Stepwell", open_url, "open", nullptr));
  json blocks = json::array();
  blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", section}}}});
  blocks.push_back({{"type", "actions"}, {"elements", buttons}});
  return json{{"text", text}, {"blocks", blocks}};
}

}  // namespace sw
