// C++ entry point of the runtime module: one connection to the IntrinsiX server (from the project
// settings) that starts jobs. Every callback runs on the game thread.
//
//   FIntrinsiXJobCallbacks Callbacks;
//   Callbacks.OnProgress = [](const FIntrinsiXJobUpdate& U) { ... U.Progress ... };
//   Callbacks.OnCompleted = [](const FIntrinsiXResult& R) { ... };
//   Callbacks.OnFailed = [](const FIntrinsiXError& E) { ... };
//   FIntrinsiXJob Job = FIntrinsiXConnection::Get()->Generate(Request, MoveTemp(Callbacks));
//   ...
//   Job.Cancel();
#pragma once

#include "CoreMinimal.h"
#include "IntrinsiXTypes.h"
#include "Templates/SharedPointer.h"
#include "Templates/UniquePtr.h"

struct INTRINSIX_API FIntrinsiXJobCallbacks
{
	TFunction<void(const FIntrinsiXJobUpdate&)> OnAccepted;
	TFunction<void(const FIntrinsiXJobUpdate&)> OnProgress;
	// One call per branch image; PreviewTexture is not set here (FIntrinsiXConnection::MakePreviewTexture).
	TFunction<void(const FIntrinsiXJobUpdate&)> OnPreview;
	TFunction<void(const FIntrinsiXTextureFile&)> OnFileReceived;
	// Exactly one of the two ends every job.
	TFunction<void(const FIntrinsiXResult&)> OnCompleted;
	TFunction<void(const FIntrinsiXError&)> OnFailed;
};

// A running job. Cheap to copy; harmless after the job ended.
class INTRINSIX_API FIntrinsiXJob
{
public:
	struct FState;  // defined in Private/ (holds the client core's job handle)

	FIntrinsiXJob() = default;
	explicit FIntrinsiXJob(TSharedPtr<FState> InState) : State(MoveTemp(InState)) {}

	bool IsValid() const { return State.IsValid(); }
	// Empty until the server accepted the job.
	FString GetJobId() const;
	// Ask the server to cancel; the job then ends with OnFailed (Cancelled).
	void Cancel() const;
	// Close the stream, leave the job running on the server (re-attach with Watch).
	void StopWatching() const;
	// True once OnCompleted or OnFailed has run.
	bool IsFinished() const;

private:
	TSharedPtr<FState> State;
};

class INTRINSIX_API FIntrinsiXConnection : public TSharedFromThis<FIntrinsiXConnection>
{
public:
	// The connection for the current settings; a new one is made when the server settings or the
	// token changed (jobs of the old one keep running to their end).
	static TSharedRef<FIntrinsiXConnection> Get();
	// Drop the shared connection (module shutdown).
	static void Reset();

	~FIntrinsiXConnection();

	FIntrinsiXJob Generate(const FIntrinsiXGenerateRequest& Request, FIntrinsiXJobCallbacks Callbacks);
	// Re-attach to a job by id; files already in OutputDirectory are kept and not fetched again.
	FIntrinsiXJob Watch(const FString& JobId, const FString& OutputDirectory, FIntrinsiXJobCallbacks Callbacks);

	FString GetAddress() const;

	// A transient texture from preview PNG bytes (game thread), or nullptr if they do not decode.
	static class UTexture2D* MakePreviewTexture(const TArray<uint8>& Png);
	// The material name a request will produce: its MaterialName, else one made from the prompt.
	static FString ResolveMaterialName(const FIntrinsiXGenerateRequest& Request);

	struct FImpl;

private:
	explicit FIntrinsiXConnection(TUniquePtr<FImpl> InImpl);
	TUniquePtr<FImpl> Impl;
};
