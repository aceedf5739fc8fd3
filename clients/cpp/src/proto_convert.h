// Conversions between the generated protocol messages and the public plain types (internal).
#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "intrinsix/types.h"
#include "intrinsix/v1/job.pb.h"
#include "intrinsix/v1/service.pb.h"
#include "intrinsix/v1/texture.pb.h"

namespace intrinsix {

TextureFileInfo from_proto(const v1::TextureHeader& header);
JobAcceptedEvent from_proto(const std::string& job_id, const std::string& client_request_id,
                            const v1::JobAccepted& accepted);
JobProgressEvent from_proto(const std::string& job_id, const v1::JobProgress& progress);
JobPreviewEvent from_proto(const std::string& job_id, const v1::JobPreview& preview);
JobErrorEvent from_proto(const std::string& job_id, const v1::JobFailed& failed);
ServerInfo from_proto(const v1::GetServerInfoResponse& info);
JobInfo from_proto(const v1::JobInfo& info);

// Fills the fields GenerateParams and RoomParams share.
void common_to_proto(const CommonJobOptions& options, v1::GenerateParams* params);
void common_to_proto(const CommonJobOptions& options, v1::RoomParams* params);
v1::GenerateRequest to_proto(const GenerateOptions& options, const std::string& client_request_id);

// A gRPC status as a public Error, with a message that says what failed, where, and what to do.
// `what` names the call ("Generate", "GetServerInfo"); `address` is the server's address. The
// token never appears.
Error status_error(const grpc::Status& status, const std::string& what, const std::string& address);

}  // namespace intrinsix
