// Result file reassembly, verification and safe writing (see result_writer.h).
#include "result_writer.h"

#include <fstream>
#include <random>
#include <system_error>

#include "intrinsix/names.h"

namespace intrinsix {
namespace fs = std::filesystem;

namespace {

Error data_loss(const std::string& message) { return Error{StatusCode::kDataLoss, message}; }

bool is_sha256_hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// SHA-256 and size of an existing file; false if it cannot be read.
bool hash_file(const fs::path& path, std::string* sha256, uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  Sha256 hash;
  char buffer[1 << 16];
  uint64_t total = 0;
  while (in) {
    in.read(buffer, sizeof(buffer));
    const std::streamsize got = in.gcount();
    if (got > 0) {
      hash.update(buffer, size_t(got));
      total += uint64_t(got);
    }
  }
  if (in.bad()) return false;
  *sha256 = hash.finish_hex();
  *size = total;
  return true;
}

std::string random_suffix() {
  static const char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string suffix(8, '0');
  for (char& c : suffix) c = kHex[device() & 15];
  return suffix;
}

}  // namespace

struct ResultWriter::Partial {
  TextureFileInfo info;
  fs::path staged;
  std::ofstream out;
  Sha256 hash;
  uint64_t written = 0;
};

ResultWriter::ResultWriter(std::string output_dir, bool overwrite)
    : output_dir_text_(std::move(output_dir)), overwrite_(overwrite) {}

ResultWriter::~ResultWriter() { discard_partial(); }

void ResultWriter::discard_partial() {
  if (!partial_) return;
  partial_->out.close();
  std::error_code ignored;
  fs::remove(partial_->staged, ignored);
  partial_.reset();
}

Error ResultWriter::prepare() {
  if (output_dir_text_.empty()) {
    return Error{StatusCode::kInvalidArgument, "output_dir is empty: name the folder the result files go into"};
  }
  output_dir_ = fs::u8path(output_dir_text_);
  std::error_code error;
  fs::create_directories(output_dir_, error);
  if (error || !fs::is_directory(output_dir_)) {
    return Error{StatusCode::kFailedPrecondition,
                 "output_dir '" + output_dir_text_ + "' is not a folder that can be created or written" +
                     (error ? ": " + error.message() : std::string())};
  }
  return {};
}

std::string ResultWriter::path_of(uint32_t file_index) const {
  if (file_index >= files_.size() || files_[file_index].name.empty()) return {};
  return (output_dir_ / files_[file_index].name).u8string();
}

Error ResultWriter::check_target(const TextureFileInfo& info, bool* already_there) const {
  *already_there = false;
  const fs::path target = output_dir_ / info.name;
  std::error_code error;
  const fs::file_status status = fs::symlink_status(target, error);
  if (error || !fs::exists(status)) return {};
  if (fs::is_symlink(status) || !fs::is_regular_file(status)) {
    return Error{StatusCode::kAlreadyExists,
                 "'" + target.u8string() + "' exists and is not a regular file; refusing to replace it"};
  }
  std::string sha;
  uint64_t size = 0;
  if (hash_file(target, &sha, &size) && size == info.byte_size && sha == info.sha256) {
    *already_there = true;
    return {};
  }
  if (!overwrite_) {
    return Error{StatusCode::kAlreadyExists, "'" + target.u8string() +
                                                 "' exists with different content; choose another folder or "
                                                 "allow overwriting"};
  }
  return {};
}

Error ResultWriter::adopt_existing(const std::vector<TextureFileInfo>& files) {
  if (files.empty()) return {};
  files_.assign(files.size(), TextureFileInfo{});
  done_.assign(files.size(), false);
  uint64_t offset = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const TextureFileInfo& info = files[i];
    std::string why;
    if (!is_safe_file_name(info.name, &why)) return data_loss("job record: " + why);
    if (info.result_offset != offset) break;
    bool present = false;
    Error error = check_target(info, &present);
    if (!error.ok() || !present) break;
    files_[i] = info;
    done_[i] = true;
    offset += info.byte_size;
    resume_offset_ = offset;
  }
  return {};
}

Error ResultWriter::on_header(const TextureFileInfo& info) {
  std::string why;
  if (!is_safe_file_name(info.name, &why)) return data_loss("the server sent an unsafe file name: " + why);
  if (info.file_count == 0 || info.file_index >= info.file_count) {
    return data_loss("file " + info.name + ": file_index " + std::to_string(info.file_index) +
                     " is not below file_count " + std::to_string(info.file_count));
  }
  if (!is_sha256_hex(info.sha256)) {
    return data_loss("file " + info.name + ": sha256 '" + info.sha256 + "' is not 64 lowercase hex digits");
  }
  if (files_.empty()) {
    files_.assign(info.file_count, TextureFileInfo{});
    done_.assign(info.file_count, false);
  } else if (files_.size() != info.file_count) {
    return data_loss("file " + info.name + ": file_count " + std::to_string(info.file_count) +
                     " differs from the earlier " + std::to_string(files_.size()));
  }
  const uint32_t index = info.file_index;
  if (done_[index]) {
    // A repeated header of a file that is already stored (possible right after a resume).
    const TextureFileInfo& known = files_[index];
    if (known.sha256 != info.sha256 || known.name != info.name) {
      return data_loss("file " + info.name + ": header differs from the one received before the resume");
    }
    return {};
  }
  if (index > 0 && !done_[index - 1]) {
    return data_loss("file " + info.name + " (index " + std::to_string(index) + ") announced before file " +
                     std::to_string(index - 1) + " was complete");
  }
  if (index > 0 && info.result_offset != files_[index - 1].result_offset + files_[index - 1].byte_size) {
    return data_loss("file " + info.name + ": result_offset " + std::to_string(info.result_offset) +
                     " does not follow the previous file");
  }
  if (partial_) {
    if (partial_->info.file_index != index) {
      return data_loss("file " + partial_->info.name + " ended after " + std::to_string(partial_->written) + " of " +
                       std::to_string(partial_->info.byte_size) + " bytes");
    }
    const TextureFileInfo& known = partial_->info;
    if (known.name != info.name || known.sha256 != info.sha256 || known.byte_size != info.byte_size ||
        known.result_offset != info.result_offset) {
      return data_loss("file " + info.name + ": header differs from the one received before the resume");
    }
    return {};  // a resumed stream continues this file
  }
  bool already_there = false;
  if (Error error = check_target(info, &already_there); !error.ok()) return error;
  auto partial = std::make_unique<Partial>();
  partial->info = info;
  partial->staged = output_dir_ / ("." + info.name + "." + random_suffix() + ".part");
  partial->out.open(partial->staged, std::ios::binary | std::ios::trunc);
  if (!partial->out) {
    return Error{StatusCode::kFailedPrecondition, "cannot write '" + partial->staged.u8string() + "'"};
  }
  files_[index] = info;
  partial_ = std::move(partial);
  return {};
}

Error ResultWriter::on_chunk(uint32_t file_index, uint64_t offset, const void* data, size_t size, bool last,
                             uint64_t result_offset, std::optional<uint32_t>* completed) {
  completed->reset();
  if (file_index < done_.size() && done_[file_index]) return {};  // re-sent bytes of a stored file
  if (!partial_ || partial_->info.file_index != file_index) {
    return data_loss("chunk of file " + std::to_string(file_index) + " without its header");
  }
  Partial& p = *partial_;
  const TextureFileInfo& info = p.info;
  if (result_offset != info.result_offset + offset) {
    return data_loss("file " + info.name + ": chunk result_offset " + std::to_string(result_offset) +
                     " does not match its offset " + std::to_string(offset));
  }
  if (offset + size > info.byte_size) {
    return data_loss("file " + info.name + ": chunk ends at byte " + std::to_string(offset + size) +
                     ", past the file's " + std::to_string(info.byte_size) + " bytes");
  }
  if (last != (offset + size == info.byte_size)) {
    return data_loss("file " + info.name + ": the last flag does not match the chunk's end");
  }
  if (offset > p.written) {
    return data_loss("file " + info.name + ": gap in the data (have " + std::to_string(p.written) +
                     " bytes, chunk starts at " + std::to_string(offset) + ")");
  }
  // A resumed stream may repeat bytes already stored: keep only the new part.
  const uint64_t skip = p.written - offset;
  if (skip < size) {
    const char* bytes = static_cast<const char*>(data) + skip;
    const size_t count = size_t(size - skip);
    p.out.write(bytes, std::streamsize(count));
    if (!p.out) {
      return Error{StatusCode::kFailedPrecondition, "cannot write '" + p.staged.u8string() + "' (disk full?)"};
    }
    p.hash.update(bytes, count);
    p.written += count;
  }
  resume_offset_ = info.result_offset + p.written;
  if (last) return finish_file(completed);
  return {};
}

Error ResultWriter::finish_file(std::optional<uint32_t>* completed) {
  Partial& p = *partial_;
  const TextureFileInfo info = p.info;
  p.out.close();
  if (!p.out) {
    discard_partial();
    return Error{StatusCode::kFailedPrecondition, "cannot finish writing " + info.name};
  }
  const std::string received = p.hash.finish_hex();
  const uint64_t written = p.written;
  if (written != info.byte_size || received != info.sha256) {
    discard_partial();  // `p` is gone from here on
    return data_loss("file " + info.name + " failed verification: expected " + std::to_string(info.byte_size) +
                     " bytes with SHA-256 " + info.sha256 + ", received " + std::to_string(written) +
                     " bytes with SHA-256 " + received);
  }
  bool already_there = false;
  if (Error error = check_target(info, &already_there); !error.ok()) {
    discard_partial();
    return error;
  }
  const fs::path target = output_dir_ / info.name;
  std::error_code error;
  if (already_there) {
    fs::remove(p.staged, error);
  } else {
    fs::rename(p.staged, target, error);  // replaces an existing file (overwrite checked above)
    if (error) {
      discard_partial();
      return Error{StatusCode::kFailedPrecondition, "cannot move " + info.name + " into place: " + error.message()};
    }
  }
  partial_.reset();
  done_[info.file_index] = true;
  resume_offset_ = info.result_offset + info.byte_size;
  *completed = info.file_index;
  return {};
}

Error ResultWriter::on_completed(uint32_t file_count, uint64_t total_bytes) const {
  if (files_.size() != file_count) {
    return data_loss("the job reports " + std::to_string(file_count) + " files, " +
                     std::to_string(files_.size()) + " were announced");
  }
  for (size_t i = 0; i < done_.size(); ++i) {
    if (!done_[i]) return data_loss("file " + std::to_string(i) + " of the result was not received completely");
  }
  if (resume_offset_ != total_bytes) {
    return data_loss("the job reports " + std::to_string(total_bytes) + " result bytes, " +
                     std::to_string(resume_offset_) + " were received");
  }
  return {};
}

}  // namespace intrinsix
