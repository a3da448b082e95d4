#include "api/html_page.h"

namespace sw::routes {

namespace {

constexpr char kStyle[] =
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;"
    "color:#1f2937}h1{font-size:1.25rem}.msg{font-size:1.1rem;padding:1rem;border:1px solid "
    "#d1d5db;border-radius:.5rem;white-space:pre-wrap}.rev{display:inline-block;padding:.1rem "
    ".5rem;border-radius:.25rem;background:#e5e7eb}.rev.irreversible{background:#b91c1c;"
    "color:#fff;font-weight:700}dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}"
    "dt{color:#6b7280}textarea{width:100%;min-height:4rem}button{font-size:1rem;padding:.5rem "
    "1.25rem;margin-right:.5rem;border-radius:.375rem;border:1px solid #9ca3af;cursor:pointer}"
    "button.approve{background:#15803d;color:#fff;border-color:#15803d}button.deny{"
    "background:#fff;color:#b91c1c;border-color:#b91c1c}";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
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
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void ReplyHtml(Call& call, int status, const std::string& title, const std::string& body) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.headers = {{"X-Request-Id", call.request_id},
               {"Cache-Control", "no-store"},
               {"Referrer-Policy", "no-referrer"},
               {"Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; "
                "form-action 'self'"}};
  r.body =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta "
      "name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>" +
      HtmlEscape(title) + "</title><style>" + kStyle + "</style></head><body>" + body +
      "</body></html>";
  call.ex->Respond(std::move(r));
}

}  // namespace sw::routes
