#include "engine/smtp_client.h"

#include <curl/curl.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "core/thread_name.h"

namespace sw {

namespace {

struct Outgoing {
  std::string from;
  std::string to;
  std::string message;
  std::function<void(Status)> done;
};

// Feeds a message to libcurl's upload.
struct Upload {
  const std::string* data;
  size_t at = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, up->data->size() - up->at);
  std::memcpy(buffer, up->data->data() + up->at, n);
  up->at += n;
  return n;
}

Status SmtpFailure(CURL* curl, CURLcode code, const char* error_buffer) {
  long reply = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
  std::string message = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  return Status(
      StatusCode::kUnavailable,
      (reply > 0 ? "SMTP " + std::to_string(reply) + ": " : std::string("SMTP: ")) + message,
      "smtp_error");
}

// libcurl's progress callback: a non-zero answer aborts the transfer.
int AbortWhenStopping(void* stopping, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(stopping)->load() ? 1 : 0;
}

class CurlSmtpClient final : public SmtpClient {
 public:
  explicit CurlSmtpClient(SmtpOptions options) : options_(std::move(options)) {
    thread_ = std::thread([this] {
      NameThisThread("sw-smtp");
      Loop();
    });
  }

  ~CurlSmtpClient() override {
    std::deque<Outgoing> left;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      left.swap(queue_);
    }
    aborting_.store(true);  // a send in flight gives up rather than hold the shutdown
    cv_.notify_all();
    thread_.join();
    for (Outgoing& o : left) {
      o.done(Status(StatusCode::kUnavailable, "shutting down", "shutting_down"));
    }
  }

  void Send(std::string from, std::string to, std::string message,
            std::function<void(Status)> done) override {
    {
      std::lock_guard lock(mu_);
      if (!stopping_ && queue_.size() < options_.max_queued) {
        queue_.push_back({std::move(from), std::move(to), std::move(message), std::move(done)});
        cv_.notify_one();
        return;
      }
    }
    done(Status(StatusCode::kResourceExhausted, "too many emails waiting to be sent", "smtp_busy"));
  }

 private:
  void Loop() {
    CURL* curl = curl_easy_init();
    while (true) {
      Outgoing next;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) {
          break;
        }
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      Status s = curl == nullptr
                     ? Status(StatusCode::kUnavailable, "SMTP: libcurl did not start", "smtp_error")
                     : SendOne(curl, next);
      next.done(std::move(s));
    }
    if (curl != nullptr) {
      curl_easy_cleanup(curl);
    }
  }

  // One message on `curl`, whose connection is kept for the next one.
  Status SendOne(CURL* curl, const Outgoing& o) {
    curl_easy_reset(curl);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    Upload upload{&o.message};
    const std::string from = "<" + o.from + ">";
    curl_slist* rcpt = curl_slist_append(nullptr, ("<" + o.to + ">").c_str());
    curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    // STARTTLS whenever an smtp:// server offers it (its certificate verified); with
    // --smtp-starttls a server that does not offer it is refused.
    curl_easy_setopt(
        curl, CURLOPT_USE_SSL,
        static_cast<long>(options_.require_starttls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(o.message.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &AbortWhenStopping);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &aborting_);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    const CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(rcpt);
    return code == CURLE_OK ? Status::Ok() : SmtpFailure(curl, code, error_buffer);
  }

  const SmtpOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Outgoing> queue_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  std::atomic<bool> aborting_{false};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<SmtpClient>> MakeCurlSmtpClient(SmtpOptions options) {
  const std::string& url = options.url;
  const bool smtp = url.rfind("smtp://", 0) == 0, smtps = url.rfind("smtps://", 0) == 0;
  const size_t host_at = smtp ? 7 : 8;
  if ((!smtp && !smtps) || url.size() <= host_at || url[host_at] == '/' || url[host_at] == ':') {
    return InvalidArgument("--smtp-url must be smtp://HOST:PORT or smtps://HOST:PORT");
  }
  // Once per process, before any thread uses libcurl.
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) {
    return Status(StatusCode::kUnavailable, "libcurl did not start", "smtp_error");
  }
  return std::unique_ptr<SmtpClient>(new CurlSmtpClient(std::move(options)));
}

}  // namespace sw
