// The libcurl SmtpClient against a real SMTP server: aiosmtpd (Debian's
// python3-aiosmtpd) started on a free local port, storing what it receives in a
// maildir that the test reads back. Also: a server that is not there, and URLs that
// are not SMTP.
#include "engine/smtp_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "engine/notification_message.h"
#include "wait_until.h"

namespace sw {
namespace {

// A port nobody listens on right now (bound, then let go).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// aiosmtpd on 127.0.0.1:port, writing each message into `maildir`/new.
class SmtpSink {
 public:
  SmtpSink(std::string maildir) : maildir_(std::move(maildir)), port_(FreePort()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string listen = "127.0.0.1:" + std::to_string(port_);
      ::execl(SW_AIOSMTPD_PYTHON, SW_AIOSMTPD_PYTHON, "-m", "aiosmtpd", "-n", "-l", listen.c_str(),
              "-c", "aiosmtpd.handlers.Mailbox", maildir_.c_str(), nullptr);
      ::_exit(127);
    }
  }
  ~SmtpSink() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  bool WaitReady() {
    return test::WaitUntil([&] { return Accepts(port_); }, std::chrono::seconds(20));
  }
  // The messages received so far.
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(maildir_ + "/new", ec)) {
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      out.push_back(text.str());
    }
    return out;
  }
  int port() const { return port_; }

 private:
  std::string maildir_;
  int port_;
  pid_t pid_ = -1;
};

Status SendAndWait(SmtpClient& client, const std::string& message) {
  std::promise<Status> sent;
  client.Send("stepwell@example.test", "ops@example.test", message,
              [&sent](Status s) { sent.set_value(std::move(s)); });
  return sent.get_future().get();
}

TEST(SmtpClientTest, ARealSmtpServerReceivesTheMessage) {
  char tmpl[] = "/tmp/stepwell-smtp-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  {
    SmtpSink sink(dir + "/maildir");
    ASSERT_TRUE(sink.WaitReady()) << "aiosmtpd did not start (" << SW_AIOSMTPD_PYTHON << ")";
    Result<std::unique_ptr<SmtpClient>> client =
        MakeCurlSmtpClient({.url = "smtp://127.0.0.1:" + std::to_string(sink.port())});
    ASSERT_TRUE(client.ok()) << client.status().message();

    NotificationRecord n;
    n.title = "Approve charge? \xE2\x9C\x93";
    n.body = "Run run_1 waits.\n.\nA line that is only a dot stays in the message.";
    n.link = "/default/monitoring/approvals";
    const std::string message =
        BuildEmail(n, {"stepwell@example.test", "ops@example.test", 1'751'364'000'000, "m1@sw"},
                   "http://127.0.0.1:8420", std::nullopt);
    Status s = SendAndWait(**client, message);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(test::WaitUntil([&] { return sink.Messages().size() == 1; }));
    const std::string received = sink.Messages().front();
    EXPECT_NE(received.find("Subject: =?UTF-8?B?"), std::string::npos) << received;
    EXPECT_NE(received.find("Message-ID: <m1@sw>"), std::string::npos);
    EXPECT_NE(received.find("X-MailFrom: stepwell@example.test"), std::string::npos);
    EXPECT_NE(received.find("X-RcptTo: ops@example.test"), std::string::npos);
    // The second message reuses the client (and its connection, if the server kept it).
    ASSERT_TRUE(SendAndWait(**client, message).ok());
    EXPECT_TRUE(test::WaitUntil([&] { return sink.Messages().size() == 2; }));
  }
  std::filesystem::remove_all(dir);
}

TEST(SmtpClientTest, AServerThatIsNotThereIsAnUnavailableError) {
  Result<std::unique_ptr<SmtpClient>> client =
      MakeCurlSmtpClient({.url = "smtp://127.0.0.1:" + std::to_string(FreePort())});
  ASSERT_TRUE(client.ok());
  Status s = SendAndWait(**client, "Subject: x\r\n\r\nx\r\n");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message().rfind("SMTP", 0), 0u) << s.message();
}

TEST(SmtpClientTest, OnlySmtpAndSmtpsUrlsAreTaken) {
  EXPECT_TRUE(MakeCurlSmtpClient({.url = "smtps://mail.example.test:465"}).ok());
  for (const char* url : {"http://mail.example.test", "smtp://", "smtp://:25", "mail:25", ""}) {
    EXPECT_EQ(MakeCurlSmtpClient({.url = url}).status().code(), StatusCode::kInvalidArgument)
        << url;
  }
}

}  // namespace
}  // namespace sw
