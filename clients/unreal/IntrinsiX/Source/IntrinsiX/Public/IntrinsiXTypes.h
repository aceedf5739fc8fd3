// Unreal-typed mirrors of the IntrinsiX client's values (Blueprint-visible). No gRPC, protobuf or
// client-core types appear in Public/ headers; the conversions live in Private/.
#pragma once

#include "CoreMinimal.h"

#include "IntrinsiXTypes.generated.h"

class UTexture2D;

// Export profile: which engine's file names and conventions the server uses.
UENUM(BlueprintType)
enum class EIntrinsiXProfile : uint8
{
	Unspecified = 0 UMETA(Hidden),
	Unreal = 1,
	Godot = 2,
	Gltf = 3 UMETA(DisplayName = "glTF"),
	Unity = 4,
	Raw = 5,
};

// gRPC status codes, same numbers as google.rpc.Code.
UENUM(BlueprintType)
enum class EIntrinsiXStatus : uint8
{
	Ok = 0,
	Cancelled = 1,
	Unknown = 2,
	InvalidArgument = 3,
	DeadlineExceeded = 4,
	NotFound = 5,
	AlreadyExists = 6,
	PermissionDenied = 7,
	ResourceExhausted = 8,
	FailedPrecondition = 9,
	Aborted = 10,
	OutOfRange = 11,
	Unimplemented = 12,
	Internal = 13,
	Unavailable = 14,
	DataLoss = 15,
	Unauthenticated = 16,
};

UENUM(BlueprintType)
enum class EIntrinsiXJobState : uint8
{
	Unspecified = 0,
	Queued = 1,
	Running = 2,
	Succeeded = 3,
	Failed = 4,
	Cancelled = 5,
	Interrupted = 6,
};

UENUM(BlueprintType)
enum class EIntrinsiXBranch : uint8
{
	Unspecified = 0,
	Albedo = 1,
	Material = 2,
	Normal = 3,
};

// The material input a received file feeds (decided by the client core from the file's header).
UENUM(BlueprintType)
enum class EIntrinsiXTextureSlot : uint8
{
	None,
	BaseColor,
	Normal,
	ORM,
	Roughness,
	Metallic,
	AmbientOcclusion,
	Height,
	MetallicSmoothness,
	Material,
	Preview,
};

// What to generate. Zero / empty fields mean "the server's default".
USTRUCT(BlueprintType)
struct INTRINSIX_API FIntrinsiXGenerateRequest
{
	GENERATED_BODY()

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX", meta = (MultiLine = true))
	FString Prompt;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX")
	FString NegativePrompt;

	// -1 = the server picks a seed (reported in OnAccepted); 0 .. 2^63-1 otherwise.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX")
	int64 Seed = -1;

	// Denoising steps; 0 = the model's default.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX", meta = (ClampMin = "0"))
	int32 Steps = 0;

	// Output size in pixels (a multiple of 16); 0 = the model's default.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX", meta = (ClampMin = "0"))
	int32 Width = 0;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX", meta = (ClampMin = "0"))
	int32 Height = 0;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX")
	bool bTileable = false;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX")
	EIntrinsiXProfile Profile = EIntrinsiXProfile::Unreal;

	// Letters, digits and '_', starting with a letter; empty = made from the prompt
	// ("weathered red brick" -> "WeatheredRedBrick").
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX")
	FString MaterialName;

	// A preview of every branch every N denoising steps; 0 = none.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX", meta = (ClampMin = "0"))
	int32 PreviewEvery = 0;

	// Folder on disk for the received files; empty = <Project>/Saved/IntrinsiX/<MaterialName>.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX")
	FString OutputDirectory;

	// Replace files in OutputDirectory that have other content.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX")
	bool bOverwrite = true;

	// Bounds the whole job on the server, in seconds; 0 = no limit.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "IntrinsiX", meta = (ClampMin = "0"))
	float TimeoutSeconds = 0.0f;
};

// One received, verified file and how to import it in Unreal (decided by the client core).
USTRUCT(BlueprintType)
struct INTRINSIX_API FIntrinsiXTextureFile
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString Name;

	// Absolute path of the written file.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString Path;

	// Asset name for the imported texture ("T_RedBrick_BC").
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString AssetName;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	EIntrinsiXTextureSlot Slot = EIntrinsiXTextureSlot::None;

	// False for the manifest and glTF files.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	bool bIsTexture = false;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	bool bSRGB = false;

	// TextureCompressionSettings enumerator name, e.g. "TC_Normalmap".
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FName CompressionSettings;

	// TextureGroup enumerator name, e.g. "TEXTUREGROUP_WorldNormalMap".
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FName LODGroup;

	// The file is an OpenGL normal map: flip green on import (Unreal expects DirectX).
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	bool bFlipGreenChannel = false;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	int32 Width = 0;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	int32 Height = 0;

	// e.g. "R=ambient_occlusion,G=roughness,B=metallic"; empty if not packed.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString Packing;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	int64 SizeBytes = 0;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString Sha256;
};

// A texture parameter of the material instance and the file that goes in it.
USTRUCT(BlueprintType)
struct INTRINSIX_API FIntrinsiXMaterialBinding
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FName Parameter;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString FileName;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	EIntrinsiXTextureSlot Slot = EIntrinsiXTextureSlot::None;
};

USTRUCT(BlueprintType)
struct INTRINSIX_API FIntrinsiXResult
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString JobId;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString MaterialName;

	// Asset name of the material instance to create ("MI_RedBrick").
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString MaterialInstanceName;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString OutputDirectory;

	// Every file of the result, manifest (material.json) last.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	TArray<FIntrinsiXTextureFile> Files;

	// Parameters of the parent material M_IntrinsiX_PBR (BaseColor, Normal, ORM) and their files.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	TArray<FIntrinsiXMaterialBinding> MaterialBindings;

	// Why no material can be built from these files (e.g. the raw profile has no ORM map); empty
	// when MaterialBindings is usable.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString MaterialPlanError;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString ManifestJson;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	int32 ReattachCount = 0;
};

USTRUCT(BlueprintType)
struct INTRINSIX_API FIntrinsiXError
{
	GENERATED_BODY()

	// Empty if the server never accepted the request.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString JobId;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	EIntrinsiXStatus Code = EIntrinsiXStatus::Unknown;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	EIntrinsiXJobState State = EIntrinsiXJobState::Unspecified;

	// What failed and what to do; never contains the access token.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString Message;
};

// One event of a job, as delivered to the async action's output pins (every pin carries the same
// struct; the fields of the event kind are set).
USTRUCT(BlueprintType)
struct INTRINSIX_API FIntrinsiXJobUpdate
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString JobId;

	// OnAccepted: the seed the job uses; true if this is a re-attached stream.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	int64 Seed = 0;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	bool bReattached = false;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	int32 QueuePosition = 0;

	// OnProgress: stage ("queued", "denoising", ...), its step / total, and overall 0..1.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FString Stage;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	int32 Step = 0;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	int32 Total = 0;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	float Progress = 0.0f;

	// OnPreview: one branch's current estimate (PNG bytes, and as a transient texture).
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	EIntrinsiXBranch PreviewBranch = EIntrinsiXBranch::Unspecified;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	TArray<uint8> PreviewPng;

	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	TObjectPtr<UTexture2D> PreviewTexture = nullptr;

	// OnFileReceived.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FIntrinsiXTextureFile File;

	// OnCompleted.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FIntrinsiXResult Result;

	// OnFailed.
	UPROPERTY(BlueprintReadOnly, Category = "IntrinsiX")
	FIntrinsiXError Error;
};
