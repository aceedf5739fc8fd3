// The IntrinsiX editor tab: prompt, seed, size, tileable, target folder, Generate / Cancel, a
// progress bar and a live preview of the branch being denoised. On completion the result is
// imported (FIntrinsiXAssetImporter) and the content browser shows the new material instance.
#pragma once

#include "CoreMinimal.h"
#include "IntrinsiXConnection.h"
#include "IntrinsiXTypes.h"
#include "Styling/SlateBrush.h"
#include "UObject/StrongObjectPtr.h"
#include "Widgets/SCompoundWidget.h"

class UTexture2D;

class SIntrinsiXPanel : public SCompoundWidget
{
public:
	SLATE_BEGIN_ARGS(SIntrinsiXPanel) {}
	SLATE_END_ARGS()

	void Construct(const FArguments& InArgs);
	// Closing the tab cancels a running job (its result would have nowhere to go).
	virtual ~SIntrinsiXPanel() override;

private:
	FReply OnGenerate();
	FReply OnCancel();
	bool IsIdle() const { return !Job.IsValid() || Job.IsFinished(); }

	void OnPreview(const FIntrinsiXJobUpdate& Update);
	void ShowPreview(EIntrinsiXBranch Branch);
	void OnCompleted(const FIntrinsiXResult& Result);
	void ImportResult(const FIntrinsiXResult& Result, const FString& ContentFolder);
	void SetStatus(const FText& Text, bool bError = false);

	// Inputs.
	FString Prompt;
	int64 Seed = 0;
	bool bRandomSeed = true;
	int32 Size = 512;
	bool bTileable = false;
	FString TargetFolder;

	// Job state.
	FIntrinsiXJob Job;
	float Progress = 0.0f;
	FText Status;
	bool bStatusIsError = false;

	// Preview: the latest PNG of each branch, and the one on screen.
	TMap<EIntrinsiXBranch, TArray<uint8>> LatestPreview;
	EIntrinsiXBranch ShownBranch = EIntrinsiXBranch::Albedo;
	TStrongObjectPtr<UTexture2D> PreviewTexture;
	FSlateBrush PreviewBrush;
};
