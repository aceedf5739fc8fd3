// Blueprint async node "Generate PBR Textures (IntrinsiX)": starts a job on the configured server
// and fires its output pins on the game thread as the job advances.
#pragma once

#include "CoreMinimal.h"
#include "IntrinsiXConnection.h"
#include "IntrinsiXTypes.h"
#include "Kismet/BlueprintAsyncActionBase.h"

#include "IntrinsiXGenerateAction.generated.h"

// Every pin carries the same struct (async nodes need one signature); see FIntrinsiXJobUpdate.
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FIntrinsiXJobUpdateSignature, const FIntrinsiXJobUpdate&, Update);

UCLASS()
class INTRINSIX_API UIntrinsiXGenerateAction : public UBlueprintAsyncActionBase
{
	GENERATED_BODY()

public:
	UFUNCTION(BlueprintCallable, Category = "IntrinsiX",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject",
			DisplayName = "Generate PBR Textures (IntrinsiX)"))
	static UIntrinsiXGenerateAction* GenerateTextures(UObject* WorldContextObject, const FIntrinsiXGenerateRequest& InRequest);

	// The server accepted the job (JobId, Seed; again with bReattached after a dropped connection).
	UPROPERTY(BlueprintAssignable)
	FIntrinsiXJobUpdateSignature OnAccepted;

	// Stage, Step / Total and Progress (0..1, never decreasing).
	UPROPERTY(BlueprintAssignable)
	FIntrinsiXJobUpdateSignature OnProgress;

	// PreviewBranch with PreviewPng and PreviewTexture (transient).
	UPROPERTY(BlueprintAssignable)
	FIntrinsiXJobUpdateSignature OnPreview;

	// File: one result file was received, verified (SHA-256) and written to disk.
	UPROPERTY(BlueprintAssignable)
	FIntrinsiXJobUpdateSignature OnFileReceived;

	// Result: every file is on disk; MaterialBindings say which file goes in which parameter.
	UPROPERTY(BlueprintAssignable)
	FIntrinsiXJobUpdateSignature OnCompleted;

	// Error: Code, State and Message (bad input, auth, server unavailable, cancelled, ...).
	UPROPERTY(BlueprintAssignable)
	FIntrinsiXJobUpdateSignature OnFailed;

	// Ask the server to cancel the job; OnFailed follows with Code = Cancelled.
	UFUNCTION(BlueprintCallable, Category = "IntrinsiX")
	void Cancel();

	virtual void Activate() override;

private:
	void Finish();

	FIntrinsiXGenerateRequest Request;
	FIntrinsiXJob Job;
	bool bRooted = false;
};
