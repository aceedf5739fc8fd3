// Reassembles a job's result files from TextureHeader / TextureChunk events, verifies each file's
// size and SHA-256, and writes it into the output folder (internal; no gRPC types).
//
// Files are written to a hidden staging file in the output folder (".<name>.<random>.part") and
// renamed into place only after their checksum matched, so a file with the final name is always
// complete. Staged files of an unfinished job are removed when the writer is destroyed.
// resume_offset() is the job's result-stream position up to which every byte is stored: a
// re-attached stream (WatchJob) continues from there, within the current file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "intrinsix/sha256.h"
#include "intrinsix/types.h"

namespace intrinsix {

class ResultWriter {
 public:
  ResultWriter(std::string output_dir, bool overwrite);
  ~ResultWriter();
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  // Create the output folder if needed. kInvalidArgument for an empty path, kFailedPrecondition
  // if it cannot be created or is not a folder.
  Error prepare();

  // Resume from disk: `files` is the job's complete file list (GetJob of a SUCCEEDED job). Every
  // leading file already present in the folder with the right size and SHA-256 counts as
  // received; resume_offset() then points at the first missing one.
  Error adopt_existing(const std::vector<TextureFileInfo>& files);

  // A file announced (again after a resume, for the file the stream continues in).
  Error on_header(const TextureFileInfo& info);
  // A piece of a file. When it completes the file (verified and renamed into place),
  // `completed` receives the file's index.
  Error on_chunk(uint32_t file_index, uint64_t offset, const void* data, size_t size, bool last,
                 uint64_t result_offset, std::optional<uint32_t>* completed);
  // The job's completion event: every one of `file_count` files must be in place and the result
  // stream `total_bytes` long.
  Error on_completed(uint32_t file_count, uint64_t total_bytes) const;

  uint64_t resume_offset() const { return resume_offset_; }
  const std::string& output_dir() const { return output_dir_text_; }
  // Files received so far, by index (entries of missing indices have an empty name).
  const std::vector<TextureFileInfo>& files() const { return files_; }
  std::string path_of(uint32_t file_index) const;

 private:
  struct Partial;  // the file being received
  Error check_target(const TextureFileInfo& info, bool* already_there) const;
  Error finish_file(std::optional<uint32_t>* completed);
  void discard_partial();

  std::string output_dir_text_;
  std::filesystem::path output_dir_;
  bool overwrite_;
  std::vector<TextureFileInfo> files_;  // headers, by file_index
  std::vector<bool> done_;
  std::unique_ptr<Partial> partial_;
  uint64_t resume_offset_ = 0;
};

}  // namespace intrinsix
