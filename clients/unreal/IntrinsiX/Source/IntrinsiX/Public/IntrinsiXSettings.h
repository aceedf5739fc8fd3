// Project settings of the IntrinsiX plugin: Project Settings > Plugins > IntrinsiX (shared, saved in
// Config/DefaultIntrinsiX.ini) and IntrinsiX Access (per user, saved under Saved/, never in the
// project's config files, because it holds the access token).
#pragma once

#include "CoreMinimal.h"
#include "Engine/DeveloperSettings.h"
#include "Engine/EngineTypes.h"

#include "IntrinsiXSettings.generated.h"

UCLASS(Config = IntrinsiX, DefaultConfig, meta = (DisplayName = "IntrinsiX"))
class INTRINSIX_API UIntrinsiXSettings : public UDeveloperSettings
{
	GENERATED_BODY()

public:
	virtual FName GetCategoryName() const override { return TEXT("Plugins"); }

	// host:port of the IntrinsiX server.
	UPROPERTY(Config, EditAnywhere, Category = "Server")
	FString ServerAddress = TEXT("127.0.0.1:50051");

	// Encrypt the connection (the server was started with --tls-cert / --tls-key).
	UPROPERTY(Config, EditAnywhere, Category = "Server")
	bool bUseTls = false;

	// PEM file of the root certificates to trust (e.g. a self-signed server's certificate); empty =
	// the system's roots.
	UPROPERTY(Config, EditAnywhere, Category = "Server", meta = (EditCondition = "bUseTls", FilePathFilter = "pem"))
	FFilePath RootCertificates;

	// Seconds a job waits for the connection before failing with "unavailable".
	UPROPERTY(Config, EditAnywhere, Category = "Server", meta = (ClampMin = "1", ClampMax = "120"))
	int32 ConnectTimeoutSeconds = 5;

	// Content folder the editor imports results into: <folder>/<MaterialName>/ (a /Game/... path).
	UPROPERTY(Config, EditAnywhere, Category = "Import")
	FString TargetContentFolder = TEXT("/Game/IntrinsiX");

	// Parent of the created material instances; created with BaseColor / Normal / ORM texture
	// parameters when it does not exist.
	UPROPERTY(Config, EditAnywhere, Category = "Import", meta = (AllowedClasses = "/Script/Engine.Material"))
	FSoftObjectPath ParentMaterial = FSoftObjectPath(TEXT("/Game/IntrinsiX/M_IntrinsiX_PBR.M_IntrinsiX_PBR"));
};

UCLASS(Config = EditorPerProjectUserSettings, meta = (DisplayName = "IntrinsiX Access"))
class INTRINSIX_API UIntrinsiXUserSettings : public UDeveloperSettings
{
	GENERATED_BODY()

public:
	virtual FName GetCategoryName() const override { return TEXT("Plugins"); }

	// Bearer token of the server (ask its operator). Stored for this user only; never logged. The
	// environment variable INTRINSIX_TOKEN, when set, takes precedence (packaged games use it).
	UPROPERTY(Config, EditAnywhere, Category = "Access", meta = (PasswordField = true))
	FString Token;
};
