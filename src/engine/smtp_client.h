// SmtpClient sends an email through the SMTP server `serve --smtp-url` names, with
// libcurl: smtp:// (plain, or STARTTLS when required), smtps:// (TLS from the start),
// credentials in the URL's user info if the server wants them. One message goes to one
// recipient. Sending blocks on the network, so the client has a thread of its own and a
// bounded queue: a slow or dead mail server holds up only emails, never webhooks or
// runs, and each send gives up after a timeout.
//
// Failures come back as Status: kUnavailable with the server's reply or libcurl's
// error ("SMTP: Failed to connect…", "SMTP 550: …"), kResourceExhausted when the queue
// is full, kUnavailable "shutting down" for messages still queued at Stop.
//
// Thread-safe. Owns its thread; `done` runs on it and must only hand off.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace sw {

struct SmtpOptions {
  std::string url;                // smtp://HOST:PORT or smtps://HOST:PORT
  bool require_starttls = false;  // smtp:// only: refuse to send without STARTTLS
  int64_t timeout_ms = 30000;     // a whole send
  int64_t connect_timeout_ms = 10000;
  size_t max_queued = 256;
};

class SmtpClient {
 public:
  virtual ~SmtpClient() = default;
  // Sends `message` (a whole RFC 5322 message, CRLF line ends) from `from` to `to`.
  virtual void Send(std::string from, std::string to, std::string message,
                    std::function<void(Status)> done) = 0;
};

// kInvalidArgument when the URL is not smtp:// or smtps:// with a host.
Result<std::unique_ptr<SmtpClient>> MakeCurlSmtpClient(SmtpOptions options);

}  // namespace sw
