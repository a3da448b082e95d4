// The server's log line format: an RFC 3339 UTC time, the level, and the message with
// every control character escaped (a newline is written "\n"), so no value in a
// message — a cancel reason, a token name, a comment — can start a forged line.
#pragma once

namespace sw {

// Sets the default logger's format. Call once at start, before logging.
void UseServerLogFormat();

}  // namespace sw
