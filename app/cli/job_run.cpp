// The CLI's side of qs::Job: waiting, the stderr progress bar and Ctrl-C (see job_run.hpp).
#include "job_run.hpp"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "quantscope/error.hpp"

namespace qs::cli {
namespace {

volatile sig_atomic_t g_interrupted = 0;
volatile sig_atomic_t g_cancel_sent = 0;
struct sigaction g_previous_action;

void interrupt_handle(int) {
  if (g_cancel_sent) {
    // The job was asked to stop and has not yet: a further Ctrl-C ends the process at once.
    static const char message[] = "\nquantscope-cli: interrupted\n";
    [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, message, sizeof message - 1);
    _exit(130);
  }
  g_interrupted = 1;
}

int terminal_columns() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 40) return size.ws_col;
  return 80;
}

// Cuts UTF-8 text to at most `width` bytes without splitting a character.
std::string text_fit(const std::string& text, size_t width) {
  if (text.size() <= width) return text;
  size_t end = width;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string elapsed_format(double seconds) {
  const int total = static_cast<int>(seconds);
  char buffer[32];
  if (total >= 3600) std::snprintf(buffer, sizeof buffer, "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
  else std::snprintf(buffer, sizeof buffer, "%d:%02d", total / 60, total % 60);
  return buffer;
}

}  // namespace

JobRunner::JobRunner() : terminal_(isatty(STDERR_FILENO) == 1) {
  g_interrupted = 0;
  g_cancel_sent = 0;
  struct sigaction action {};
  action.sa_handler = interrupt_handle;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &g_previous_action);
}

JobRunner::~JobRunner() { sigaction(SIGINT, &g_previous_action, nullptr); }

void JobRunner::run(const std::string& title, const Job::Work& work, const JobDisplay& display) {
  if (g_interrupted) throw Error(ErrorKind::Cancelled, title + ": cancelled");
  auto job = queue_.submit({}, title, work, [this](const Job&) {
    {
      std::lock_guard lock(wake_mutex_);
      woken_ = true;
    }
    wake_.notify_one();
  });

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_draw = start - std::chrono::seconds(1);
  while (!job->finished()) {
    {
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return woken_; });
      woken_ = false;
    }
    // Only a Ctrl-C after this counts as a second one: a signal sent to the child and again to its
    // process group (as timeout(1) does) arrives twice at once and must not kill the process.
    if (g_interrupted && !g_cancel_sent) {
      job->cancel();
      g_cancel_sent = 1;
    }
    const auto now = Clock::now();
    // Quick jobs finish without a bar flashing by; then at most ten redraws a second.
    if (display.bar && terminal_ && now - start > std::chrono::milliseconds(300) &&
        now - last_draw > std::chrono::milliseconds(100) && !job->finished()) {
      const std::string message = g_interrupted ? "cancelling..." : display.message ? display.message() : job->message();
      bar_draw(*job, message, std::chrono::duration<double>(now - start).count());
      last_draw = now;
    }
  }
  {
    std::lock_guard lock(terminal_mutex_);
    bar_clear();
  }

  switch (job->state()) {
    case JobState::Succeeded:
      return;
    case JobState::Cancelled:
      throw Error(ErrorKind::Cancelled, title + ": cancelled");
    default:
      throw std::runtime_error(job->error());
  }
}

void JobRunner::stdout_write(const std::string& text) {
  std::lock_guard lock(terminal_mutex_);
  bar_clear();
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void JobRunner::bar_draw(const Job& job, const std::string& message, double elapsed) {
  const size_t columns = static_cast<size_t>(terminal_columns()) - 1;  // the last column wraps on some terminals
  const std::string title = text_fit(job.title(), columns / 3);
  const std::string time = elapsed_format(elapsed);
  // The bar takes what the title, percentage, time and message leave, within [10, 30] columns.
  const size_t fixed = title.size() + 2 + 2 + 1 + 4 + 2 + time.size() + (message.empty() ? 0 : 2 + message.size());
  const size_t width = std::clamp<size_t>(columns > fixed ? columns - fixed : 0, 10, 30);

  const double fraction = job.progress();
  std::string bar(width, '-');
  std::string percent = "    ";
  if (fraction >= 0) {
    const double done = std::clamp(fraction, 0.0, 1.0);
    std::fill_n(bar.begin(), static_cast<size_t>(done * width), '#');
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%3d%%", static_cast<int>(done * 100));
    percent = buffer;
  } else {
    // Unknown amount of work: a block that moves back and forth shows that it is alive.
    bar.assign(width, ' ');
    const size_t span = width - 3;
    const size_t step = static_cast<size_t>(elapsed * 10) % (2 * span);
    bar.replace(step < span ? step : 2 * span - step, 3, "###");
  }
  std::string line = title + "  [" + bar + "] " + percent + "  " + time;
  if (!message.empty() && line.size() + 2 < columns) line += "  " + text_fit(message, columns - line.size() - 2);

  std::lock_guard lock(terminal_mutex_);
  if (bar_shown_ && line == bar_line_) return;  // unchanged: spare the terminal
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  bar_shown_ = true;
  bar_line_ = line;
}

void JobRunner::bar_clear() {
  if (!bar_shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  bar_shown_ = false;
}

}  // namespace qs::cli
