#include "IntrinsiXGenerateAction.h"

#include "Engine/Engine.h"
#include "Engine/GameInstance.h"
#include "Engine/World.h"

UIntrinsiXGenerateAction* UIntrinsiXGenerateAction::GenerateTextures(UObject* WorldContextObject,
	const FIntrinsiXGenerateRequest& InRequest)
{
	UIntrinsiXGenerateAction* Action = NewObject<UIntrinsiXGenerateAction>();
	Action->Request = InRequest;
	// Keep the action alive until the job ends: with the game instance in a game, rooted in the
	// editor (editor utility widgets have no game instance).
	UWorld* World = GEngine ? GEngine->GetWorldFromContextObject(WorldContextObject, EGetWorldErrorMode::ReturnNull) : nullptr;
	if (World && World->GetGameInstance())
	{
		Action->RegisterWithGameInstance(World->GetGameInstance());
	}
	else
	{
		Action->AddToRoot();
		Action->bRooted = true;
	}
	return Action;
}

void UIntrinsiXGenerateAction::Activate()
{
	// Callbacks hold a weak pointer: an action destroyed early (world torn down) just stops listening.
	TWeakObjectPtr<UIntrinsiXGenerateAction> Weak(this);
	FIntrinsiXJobCallbacks Callbacks;
	Callbacks.OnAccepted = [Weak](const FIntrinsiXJobUpdate& Update)
	{
		if (Weak.IsValid())
		{
			Weak->OnAccepted.Broadcast(Update);
		}
	};
	Callbacks.OnProgress = [Weak](const FIntrinsiXJobUpdate& Update)
	{
		if (Weak.IsValid())
		{
			Weak->OnProgress.Broadcast(Update);
		}
	};
	Callbacks.OnPreview = [Weak](const FIntrinsiXJobUpdate& Update)
	{
		if (Weak.IsValid())
		{
			FIntrinsiXJobUpdate WithTexture = Update;
			WithTexture.PreviewTexture = FIntrinsiXConnection::MakePreviewTexture(Update.PreviewPng);
			Weak->OnPreview.Broadcast(WithTexture);
		}
	};
	Callbacks.OnFileReceived = [Weak](const FIntrinsiXTextureFile& File)
	{
		if (Weak.IsValid())
		{
			FIntrinsiXJobUpdate Update;
			Update.File = File;
			Weak->OnFileReceived.Broadcast(Update);
		}
	};
	Callbacks.OnCompleted = [Weak](const FIntrinsiXResult& Result)
	{
		if (Weak.IsValid())
		{
			FIntrinsiXJobUpdate Update;
			Update.JobId = Result.JobId;
			Update.Progress = 1.0f;
			Update.Result = Result;
			Weak->OnCompleted.Broadcast(Update);
			Weak->Finish();
		}
	};
	Callbacks.OnFailed = [Weak](const FIntrinsiXError& Error)
	{
		if (Weak.IsValid())
		{
			FIntrinsiXJobUpdate Update;
			Update.JobId = Error.JobId;
			Update.Error = Error;
			Weak->OnFailed.Broadcast(Update);
			Weak->Finish();
		}
	};
	Job = FIntrinsiXConnection::Get()->Generate(Request, MoveTemp(Callbacks));
}

void UIntrinsiXGenerateAction::Cancel()
{
	Job.Cancel();
}

void UIntrinsiXGenerateAction::Finish()
{
	if (bRooted)
	{
		RemoveFromRoot();
		bRooted = false;
	}
	SetReadyToDestroy();
}
