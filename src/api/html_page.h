// The few server-made HTML pages (a magic link's approval page, the end of an OAuth
// authorization): escaping and the answer, with a strict Content-Security-Policy (no
// script; forms post only to this server).
//
// Thread-safe (stateless functions).
#pragma once

#include <string>
#include <string_view>

#include "api/call.h"

namespace sw::routes {

// `text` with &, <, >, " and ' escaped for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// Answers a page titled `title` (escaped here) whose body is `body` (HTML, escaped by
// the caller).
void ReplyHtml(Call& call, int status, const std::string& title, const std::string& body);

}  // namespace sw::routes
