#include "core/service/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/sys/error.h"
#include "core/sys/rfc3339.h"
#include "core/sys/sys.h"

namespace nucleus::service {

std::optional<CriRecord> parse_cri_line(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  size_t a = line.find(' ');
  if (a == std::string_view::npos) return std::nullopt;
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  size_t c = line.find(' ', b + 1);
  std::string_view tag = line.substr(b + 1, c == std::string_view::npos ? std::string_view::npos : c - b - 1);
  if (tag != "F" && tag != "P") return std::nullopt;
  CriRecord r;
  r.time = line.substr(0, a);
  r.stream = line.substr(a + 1, b - a - 1);
  r.partial = tag == "P";
  if (c != std::string_view::npos) r.content = line.substr(c + 1);
  return r;
}

std::vector<std::string> log_files(const std::string& path, uint32_t max_files) {
  std::vector<std::string> out;
  for (uint32_t i = max_files; i-- > 0;) {
    std::string p = i == 0 ? path : path + "." + std::to_string(i);
    if (::access(p.c_str(), F_OK) == 0) out.push_back(p);
  }
  return out;
}

LogWriter::LogWriter(std::string path, LogLimits limits) : path_(std::move(path)), limits_(limits) {
  limits_.max_files = std::max<uint32_t>(limits_.max_files, 1);
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd_) throw_errno("open the container log", path_);
  struct stat st;
  if (::fstat(fd_.get(), &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
}

void LogWriter::append(std::string_view stream, std::string_view data) {
  auto it = pending_.find(stream);
  if (it == pending_.end()) it = pending_.emplace(std::string(stream), std::string()).first;
  std::string& pending = it->second;
  pending.append(data);
  size_t start = 0;
  for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(pending.data() + start, nl - start);
    while (line.size() > kMaxRecordContent) {
      write_record(stream, true, line.substr(0, kMaxRecordContent));
      line.remove_prefix(kMaxRecordContent);
    }
    write_record(stream, false, line);
  }
  pending.erase(0, start);
  while (pending.size() > kMaxRecordContent) {
    write_record(stream, true, std::string_view(pending).substr(0, kMaxRecordContent));
    pending.erase(0, kMaxRecordContent);
  }
}

void LogWriter::flush() {
  for (auto& [stream, pending] : pending_) {
    if (!pending.empty()) write_record(stream, false, pending);
    pending.clear();
  }
}

void LogWriter::write_record(std::string_view stream, bool partial, std::string_view content) {
  std::string line = rfc3339_now();
  line.append(" ").append(stream).append(partial ? " P " : " F ").append(content).append("\n");
  if (limits_.max_size > 0 && size_ > 0 && size_ + line.size() > limits_.max_size) rotate();
  if (sys::write_all(fd_.get(), line.data(), line.size()) == 0) size_ += line.size();
}

// container.log.(N-2) -> .(N-1), ..., container.log -> .1; the oldest is replaced. With one
// file allowed, the log starts over.
void LogWriter::rotate() {
  for (uint32_t i = limits_.max_files - 1; i > 0; --i) {
    std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
    (void)::rename(from.c_str(), (path_ + "." + std::to_string(i)).c_str());
  }
  int flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (limits_.max_files == 1 ? O_TRUNC : 0);
  UniqueFd fresh(::open(path_.c_str(), flags, 0600));
  if (fresh) {
    fd_ = std::move(fresh);
    size_ = 0;
  }
}

}  // namespace nucleus::service
