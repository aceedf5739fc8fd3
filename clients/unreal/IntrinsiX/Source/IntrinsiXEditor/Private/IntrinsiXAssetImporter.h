// Turns a finished job (files on disk) into assets: texture assets with the import settings the
// client core chose (sRGB, compression, LOD group, green flip), and a material instance of the
// parent PBR material, which is created first if the project lacks it.
#pragma once

#include "CoreMinimal.h"
#include "IntrinsiXTypes.h"

class UMaterial;
class UMaterialInstanceConstant;
class UTexture2D;

struct FIntrinsiXImportOutcome
{
	TArray<UTexture2D*> Textures;
	UMaterialInstanceConstant* MaterialInstance = nullptr;
	// Empty on success. Textures may have been imported even when the material could not be made.
	FString Error;
};

class FIntrinsiXAssetImporter
{
public:
	// Import into ContentFolder (a /Game/... path) and save the new or changed packages. Must run on
	// the game thread, outside other import or task-graph callbacks (the panel defers it a tick).
	static FIntrinsiXImportOutcome Import(const FIntrinsiXResult& Result, const FString& ContentFolder);

private:
	static UTexture2D* ImportTexture(const FIntrinsiXTextureFile& File, const FString& ContentFolder, FString& OutError);
	static UMaterial* FindOrCreateParentMaterial(const TMap<FName, UTexture2D*>& Defaults, FString& OutError);
	static UMaterialInstanceConstant* CreateOrUpdateInstance(const FString& Name, const FString& ContentFolder,
		UMaterial* Parent, const TMap<FName, UTexture2D*>& Textures, FString& OutError);
};
