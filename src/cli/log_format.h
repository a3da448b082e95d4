// The server's log line format, one of two:
//
// - text (the default): an RFC 3339 UTC time, the level, and the message with every
//   control character escaped (a newline is written "\n"), so no value in a message —
//   a cancel reason, a token name, a comment — can start a forged line.
// - json: one JSON object a line, {"ts", "level", "msg"}, and the message's `key=value`
//   fields as members of their own ("event", "run", "workflow", "request_id", ...): the
//   server's messages are written `event=run.cancel run=run_1 ... reason=...`, and a
//   value runs until the next ` key=` (so a reason may hold spaces). A message without
//   fields is only "msg". JSON's escaping keeps each line one line.
#pragma once

#include <string_view>

namespace sw {

enum class LogFormat { kText, kJson };

// "text" or "json"; false for anything else.
bool ParseLogFormat(std::string_view name, LogFormat& out);

// Sets the default logger's format. Call once at start, before logging.
void UseServerLogFormat(LogFormat format = LogFormat::kText);

}  // namespace sw
