// FIntrinsiXConnection: the client core (clients/cpp) behind Unreal types. The core delivers its
// callbacks on its own callback thread (intrinsix::Delivery::kCallbackThread); each one is
// converted there and forwarded to the game thread with AsyncTask(ENamedThreads::GameThread), so
// user code never runs on a network thread. Tasks sent to the game thread run in order.
#include "IntrinsiXConnection.h"

#include <atomic>
#include <memory>
#include <string>

#include "Async/Async.h"
#include "Engine/Texture2D.h"
#include "HAL/PlatformMisc.h"
#include "ImageUtils.h"
#include "IntrinsiXSettings.h"
#include "Misc/FileHelper.h"
#include "Misc/Paths.h"

THIRD_PARTY_INCLUDES_START
#include "intrinsix/client.h"
#include "intrinsix/engine_import.h"
#include "intrinsix/names.h"
THIRD_PARTY_INCLUDES_END

DEFINE_LOG_CATEGORY_STATIC(LogIntrinsiX, Log, All);

namespace IntrinsiXConvert
{
std::string ToStd(const FString& Text) { return std::string(TCHAR_TO_UTF8(*Text)); }
FString ToUE(const std::string& Text) { return FString(UTF8_TO_TCHAR(Text.c_str())); }

EIntrinsiXTextureSlot ToUE(intrinsix::TextureSlot Slot)
{
	switch (Slot)
	{
	case intrinsix::TextureSlot::kBaseColor: return EIntrinsiXTextureSlot::BaseColor;
	case intrinsix::TextureSlot::kNormal: return EIntrinsiXTextureSlot::Normal;
	case intrinsix::TextureSlot::kOrm: return EIntrinsiXTextureSlot::ORM;
	case intrinsix::TextureSlot::kRoughness: return EIntrinsiXTextureSlot::Roughness;
	case intrinsix::TextureSlot::kMetallic: return EIntrinsiXTextureSlot::Metallic;
	case intrinsix::TextureSlot::kAmbientOcclusion: return EIntrinsiXTextureSlot::AmbientOcclusion;
	case intrinsix::TextureSlot::kHeight: return EIntrinsiXTextureSlot::Height;
	case intrinsix::TextureSlot::kMetallicSmoothness: return EIntrinsiXTextureSlot::MetallicSmoothness;
	case intrinsix::TextureSlot::kMaterial: return EIntrinsiXTextureSlot::Material;
	case intrinsix::TextureSlot::kPreview: return EIntrinsiXTextureSlot::Preview;
	case intrinsix::TextureSlot::kNone: break;
	}
	return EIntrinsiXTextureSlot::None;
}

// A received file with Unreal's import decisions from the core (never decided here).
FIntrinsiXTextureFile ToUE(const intrinsix::TextureFileInfo& Info, const std::string& Path)
{
	FIntrinsiXTextureFile File;
	File.Name = ToUE(Info.name);
	File.Path = ToUE(Path);
	File.AssetName = ToUE(intrinsix::unreal_asset_name(Info.name));
	File.Width = int32(Info.width);
	File.Height = int32(Info.height);
	File.Packing = ToUE(Info.packing);
	File.SizeBytes = int64(Info.byte_size);
	File.Sha256 = ToUE(Info.sha256);
	const intrinsix::Result<intrinsix::TextureImportSettings> Settings =
		intrinsix::import_settings(intrinsix::Engine::kUnreal, Info);
	if (!Settings.ok())
	{
		UE_LOG(LogIntrinsiX, Warning, TEXT("%s is not imported: %s"), *File.Name, *ToUE(Settings.error.message));
		return File;
	}
	File.Slot = ToUE(Settings.value.slot);
	File.bIsTexture = Settings.value.is_texture;
	File.bSRGB = Settings.value.srgb;
	File.CompressionSettings = FName(intrinsix::unreal_compression_name(Settings.value.compression));
	File.LODGroup = FName(intrinsix::unreal_lod_group_name(Settings.value.slot));
	File.bFlipGreenChannel = Settings.value.flip_green;
	return File;
}

FIntrinsiXError ToUE(const intrinsix::JobErrorEvent& Event)
{
	FIntrinsiXError Error;
	Error.JobId = ToUE(Event.job_id);
	Error.Code = static_cast<EIntrinsiXStatus>(int32(Event.error.code));
	Error.State = static_cast<EIntrinsiXJobState>(int32(Event.state));
	Error.Message = ToUE(Event.error.message);
	return Error;
}

FIntrinsiXResult ToUE(const intrinsix::JobDoneEvent& Done)
{
	FIntrinsiXResult Result;
	Result.JobId = ToUE(Done.job_id);
	Result.MaterialName = ToUE(Done.material_name);
	Result.MaterialInstanceName = ToUE(intrinsix::unreal_material_instance_name(Done.material_name));
	Result.OutputDirectory = ToUE(Done.output_dir);
	Result.ManifestJson = ToUE(Done.manifest_json);
	Result.ReattachCount = int32(Done.reattach_count);
	for (size_t Index = 0; Index < Done.files.size(); ++Index)
	{
		Result.Files.Add(ToUE(Done.files[Index], Done.paths[Index]));
	}
	const intrinsix::Result<intrinsix::MaterialPlan> Plan = intrinsix::material_plan(intrinsix::Engine::kUnreal, Done.files);
	if (!Plan.ok())
	{
		Result.MaterialPlanError = ToUE(Plan.error.message);
		return Result;
	}
	for (const intrinsix::MaterialBinding& Binding : Plan.value.bindings)
	{
		FIntrinsiXMaterialBinding Out;
		Out.Parameter = FName(ToUE(Binding.parameter));
		Out.FileName = ToUE(Binding.file_name);
		Out.Slot = ToUE(Binding.slot);
		Result.MaterialBindings.Add(Out);
	}
	return Result;
}
}  // namespace IntrinsiXConvert

using namespace IntrinsiXConvert;

struct FIntrinsiXJob::FState
{
	intrinsix::JobHandle Handle;
	std::atomic<bool> bFinished{false};  // set on the game thread after OnCompleted / OnFailed
};

struct FIntrinsiXConnection::FImpl
{
	FString Address;
	uint32 SettingsHash = 0;
	std::unique_ptr<intrinsix::Client> Client;
	// Jobs whose final callback has not run yet: a replaced connection lives until they end.
	std::shared_ptr<std::atomic<int32>> ActiveJobs = std::make_shared<std::atomic<int32>>(0);

	intrinsix::JobCallbacks Wrap(FIntrinsiXJobCallbacks Callbacks, const TSharedPtr<FIntrinsiXJob::FState>& State) const;
};

namespace
{
TSharedPtr<FIntrinsiXConnection> GCurrent;
TArray<TSharedPtr<FIntrinsiXConnection>> GRetired;  // replaced connections with jobs still running

FString ResolveToken()
{
	const FString FromEnvironment = FPlatformMisc::GetEnvironmentVariable(TEXT("INTRINSIX_TOKEN"));
	return FromEnvironment.IsEmpty() ? GetDefault<UIntrinsiXUserSettings>()->Token : FromEnvironment;
}

// Identifies the settings a connection was made with (the token only through its hash).
uint32 HashSettings(const UIntrinsiXSettings& Settings, const FString& Token)
{
	uint32 Hash = GetTypeHash(Settings.ServerAddress);
	Hash = HashCombine(Hash, GetTypeHash(Settings.bUseTls));
	Hash = HashCombine(Hash, GetTypeHash(Settings.RootCertificates.FilePath));
	Hash = HashCombine(Hash, GetTypeHash(Settings.ConnectTimeoutSeconds));
	return HashCombine(Hash, GetTypeHash(Token));
}

// Runs on the core's callback thread: hand the call to the game thread.
template <typename FunctionType, typename EventType>
void OnGameThread(const FunctionType& Callback, EventType Event)
{
	if (!Callback)
	{
		return;
	}
	AsyncTask(ENamedThreads::GameThread, [Callback, Event = MoveTemp(Event)]() { Callback(Event); });
}
}  // namespace

intrinsix::JobCallbacks FIntrinsiXConnection::FImpl::Wrap(FIntrinsiXJobCallbacks Callbacks,
	const TSharedPtr<FIntrinsiXJob::FState>& State) const
{
	ActiveJobs->fetch_add(1);
	auto Active = ActiveJobs;
	auto Finish = [State, Active]()
	{
		State->bFinished.store(true);
		Active->fetch_sub(1);
	};
	intrinsix::JobCallbacks Core;
	Core.on_accepted = [Callback = Callbacks.OnAccepted](const intrinsix::JobAcceptedEvent& Event)
	{
		FIntrinsiXJobUpdate Update;
		Update.JobId = ToUE(Event.job_id);
		Update.Seed = int64(Event.seed);
		Update.bReattached = Event.reattached;
		Update.QueuePosition = int32(Event.queue_position);
		OnGameThread(Callback, MoveTemp(Update));
	};
	Core.on_progress = [Callback = Callbacks.OnProgress](const intrinsix::JobProgressEvent& Event)
	{
		FIntrinsiXJobUpdate Update;
		Update.JobId = ToUE(Event.job_id);
		Update.Stage = ToUE(Event.stage);
		Update.Step = int32(Event.step);
		Update.Total = int32(Event.total);
		Update.Progress = Event.overall;
		Update.QueuePosition = int32(Event.queue_position);
		OnGameThread(Callback, MoveTemp(Update));
	};
	Core.on_preview = [Callback = Callbacks.OnPreview](const intrinsix::JobPreviewEvent& Event)
	{
		for (const intrinsix::PreviewImage& Image : Event.images)
		{
			FIntrinsiXJobUpdate Update;
			Update.JobId = ToUE(Event.job_id);
			Update.Step = int32(Event.step);
			Update.Total = int32(Event.total);
			Update.PreviewBranch = static_cast<EIntrinsiXBranch>(int32(Image.branch));
			Update.PreviewPng.Append(Image.png.data(), int32(Image.png.size()));
			OnGameThread(Callback, MoveTemp(Update));
		}
	};
	Core.on_file = [Callback = Callbacks.OnFileReceived](const intrinsix::TextureFileEvent& Event)
	{
		OnGameThread(Callback, ToUE(Event.info, Event.path));
	};
	Core.on_done = [Callback = Callbacks.OnCompleted, Finish](const intrinsix::JobDoneEvent& Event)
	{
		FIntrinsiXResult Result = ToUE(Event);
		AsyncTask(ENamedThreads::GameThread, [Callback, Finish, Result = MoveTemp(Result)]()
		{
			if (Callback)
			{
				Callback(Result);
			}
			Finish();
		});
	};
	Core.on_error = [Callback = Callbacks.OnFailed, Finish](const intrinsix::JobErrorEvent& Event)
	{
		FIntrinsiXError Error = ToUE(Event);
		AsyncTask(ENamedThreads::GameThread, [Callback, Finish, Error = MoveTemp(Error)]()
		{
			UE_LOG(LogIntrinsiX, Warning, TEXT("job %s failed: %s"), *Error.JobId, *Error.Message);
			if (Callback)
			{
				Callback(Error);
			}
			Finish();
		});
	};
	return Core;
}

FIntrinsiXConnection::FIntrinsiXConnection(TUniquePtr<FImpl> InImpl) : Impl(MoveTemp(InImpl)) {}

FIntrinsiXConnection::~FIntrinsiXConnection() = default;

TSharedRef<FIntrinsiXConnection> FIntrinsiXConnection::Get()
{
	check(IsInGameThread());
	GRetired.RemoveAll([](const TSharedPtr<FIntrinsiXConnection>& Old) { return Old->Impl->ActiveJobs->load() == 0; });

	const UIntrinsiXSettings& Settings = *GetDefault<UIntrinsiXSettings>();
	const FString Token = ResolveToken();
	const uint32 Hash = HashSettings(Settings, Token);
	if (GCurrent.IsValid() && GCurrent->Impl->SettingsHash == Hash)
	{
		return GCurrent.ToSharedRef();
	}
	if (GCurrent.IsValid())
	{
		GRetired.Add(GCurrent);
	}

	intrinsix::ConnectOptions Options;
	Options.address = ToStd(Settings.ServerAddress.TrimStartAndEnd());
	Options.token = ToStd(Token);
	Options.use_tls = Settings.bUseTls;
	Options.connect_timeout_ms = uint32(FMath::Clamp(Settings.ConnectTimeoutSeconds, 1, 120)) * 1000;
	Options.delivery = intrinsix::Delivery::kCallbackThread;
	if (Settings.bUseTls && !Settings.RootCertificates.FilePath.IsEmpty())
	{
		FString Pem;
		if (FFileHelper::LoadFileToString(Pem, *Settings.RootCertificates.FilePath))
		{
			Options.tls_root_certs_pem = ToStd(Pem);
		}
		else
		{
			UE_LOG(LogIntrinsiX, Error, TEXT("cannot read the root certificates %s; using the system's"),
				*Settings.RootCertificates.FilePath);
		}
	}
	UE_LOG(LogIntrinsiX, Log, TEXT("server %s (TLS %s, token %s)"), *Settings.ServerAddress,
		Settings.bUseTls ? TEXT("on") : TEXT("off"), Token.IsEmpty() ? TEXT("none") : TEXT("set"));

	TUniquePtr<FImpl> NewImpl = MakeUnique<FImpl>();
	NewImpl->Address = Settings.ServerAddress;
	NewImpl->SettingsHash = Hash;
	NewImpl->Client = std::make_unique<intrinsix::Client>(Options);
	GCurrent = MakeShareable(new FIntrinsiXConnection(MoveTemp(NewImpl)));
	return GCurrent.ToSharedRef();
}

void FIntrinsiXConnection::Reset()
{
	GRetired.Reset();
	GCurrent.Reset();
}

FString FIntrinsiXConnection::GetAddress() const { return Impl->Address; }

FString FIntrinsiXConnection::ResolveMaterialName(const FIntrinsiXGenerateRequest& Request)
{
	if (!Request.MaterialName.IsEmpty())
	{
		return Request.MaterialName;
	}
	return ToUE(intrinsix::material_name_from_prompt(ToStd(Request.Prompt)));
}

FIntrinsiXJob FIntrinsiXConnection::Generate(const FIntrinsiXGenerateRequest& Request, FIntrinsiXJobCallbacks Callbacks)
{
	intrinsix::GenerateOptions Options;
	Options.prompt = ToStd(Request.Prompt);
	Options.negative_prompt = ToStd(Request.NegativePrompt);
	if (Request.Seed >= 0)
	{
		Options.seed = uint64(Request.Seed);
	}
	if (Request.Steps > 0)
	{
		Options.steps = uint32(Request.Steps);
	}
	if (Request.Width > 0)
	{
		Options.width = uint32(Request.Width);
	}
	if (Request.Height > 0)
	{
		Options.height = uint32(Request.Height);
	}
	Options.tileable = Request.bTileable;
	Options.profile = static_cast<intrinsix::ExportProfile>(int32(Request.Profile));
	// The name is fixed here (not left to the server) so the output folder is known up front.
	const FString MaterialName = ResolveMaterialName(Request);
	Options.material_name = ToStd(MaterialName);
	Options.preview_every = uint32(FMath::Max(0, Request.PreviewEvery));
	Options.overwrite = Request.bOverwrite;
	Options.timeout_ms = uint32(FMath::Max(0.0f, Request.TimeoutSeconds) * 1000.0f);
	const FString OutputDirectory = Request.OutputDirectory.IsEmpty()
		? FPaths::Combine(FPaths::ProjectSavedDir(), TEXT("IntrinsiX"), MaterialName)
		: Request.OutputDirectory;
	Options.output_dir = ToStd(FPaths::ConvertRelativePathToFull(OutputDirectory));

	TSharedPtr<FIntrinsiXJob::FState> State = MakeShared<FIntrinsiXJob::FState>();
	State->Handle = Impl->Client->generate(Options, Impl->Wrap(MoveTemp(Callbacks), State));
	return FIntrinsiXJob(State);
}

FIntrinsiXJob FIntrinsiXConnection::Watch(const FString& JobId, const FString& OutputDirectory, FIntrinsiXJobCallbacks Callbacks)
{
	intrinsix::WatchOptions Options;
	Options.output_dir = ToStd(FPaths::ConvertRelativePathToFull(OutputDirectory));
	Options.overwrite = true;
	TSharedPtr<FIntrinsiXJob::FState> State = MakeShared<FIntrinsiXJob::FState>();
	State->Handle = Impl->Client->watch(ToStd(JobId), Options, Impl->Wrap(MoveTemp(Callbacks), State));
	return FIntrinsiXJob(State);
}

UTexture2D* FIntrinsiXConnection::MakePreviewTexture(const TArray<uint8>& Png)
{
	check(IsInGameThread());
	return Png.Num() > 0 ? FImageUtils::ImportBufferAsTexture2D(Png) : nullptr;
}

FString FIntrinsiXJob::GetJobId() const { return State.IsValid() ? ToUE(State->Handle.job_id()) : FString(); }

void FIntrinsiXJob::Cancel() const
{
	if (State.IsValid())
	{
		State->Handle.cancel();
	}
}

void FIntrinsiXJob::StopWatching() const
{
	if (State.IsValid())
	{
		State->Handle.stop_watching();
	}
}

bool FIntrinsiXJob::IsFinished() const { return !State.IsValid() || State->bFinished.load(); }
