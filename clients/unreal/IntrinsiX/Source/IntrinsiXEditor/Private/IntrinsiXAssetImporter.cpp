#include "IntrinsiXAssetImporter.h"

#include "AssetToolsModule.h"
#include "AutomatedAssetImportData.h"
#include "Engine/Texture2D.h"
#include "Factories/MaterialFactoryNew.h"
#include "Factories/MaterialInstanceConstantFactoryNew.h"
#include "FileHelpers.h"
#include "IAssetTools.h"
#include "IntrinsiXSettings.h"
#include "MaterialEditingLibrary.h"
#include "Materials/Material.h"
#include "Materials/MaterialExpressionTextureSampleParameter2D.h"
#include "Materials/MaterialInstanceConstant.h"
#include "Misc/PackageName.h"

DEFINE_LOG_CATEGORY_STATIC(LogIntrinsiXImport, Log, All);

namespace
{
// The parent material's texture parameters (the client core's kUnreal*Parameter names).
const FName BaseColorParameter(TEXT("BaseColor"));
const FName NormalParameter(TEXT("Normal"));
const FName OrmParameter(TEXT("ORM"));

template <typename AssetType>
AssetType* LoadIfExists(const FString& ObjectPath)
{
	const FString PackageName = FPackageName::ObjectPathToPackageName(ObjectPath);
	if (!FPackageName::DoesPackageExist(PackageName))
	{
		return nullptr;
	}
	return LoadObject<AssetType>(nullptr, *ObjectPath);
}

FString ObjectPath(const FString& Folder, const FString& AssetName)
{
	return Folder / AssetName + TEXT(".") + AssetName;
}
}  // namespace

UTexture2D* FIntrinsiXAssetImporter::ImportTexture(const FIntrinsiXTextureFile& File, const FString& ContentFolder,
	FString& OutError)
{
	IAssetTools& AssetTools = FModuleManager::LoadModuleChecked<FAssetToolsModule>("AssetTools").Get();
	UAutomatedAssetImportData* ImportData = NewObject<UAutomatedAssetImportData>();
	ImportData->Filenames.Add(File.Path);
	ImportData->DestinationPath = ContentFolder;
	ImportData->bReplaceExisting = true;
	const TArray<UObject*> Imported = AssetTools.ImportAssetsAutomated(ImportData);
	UTexture2D* Texture = Imported.Num() > 0 ? Cast<UTexture2D>(Imported[0]) : nullptr;
	if (Texture == nullptr)
	{
		// Some importers (Interchange) finish without returning the object: look it up by name.
		Texture = LoadIfExists<UTexture2D>(ObjectPath(ContentFolder, File.AssetName));
	}
	if (Texture == nullptr)
	{
		OutError = FString::Printf(TEXT("could not import %s as a texture (see the Output Log)"), *File.Path);
		return nullptr;
	}

	Texture->PreEditChange(nullptr);
	Texture->SRGB = File.bSRGB;
	const int64 Compression = StaticEnum<TextureCompressionSettings>()->GetValueByName(File.CompressionSettings);
	if (Compression != INDEX_NONE)
	{
		Texture->CompressionSettings = static_cast<TextureCompressionSettings>(Compression);
	}
	else
	{
		UE_LOG(LogIntrinsiXImport, Warning, TEXT("%s: unknown compression setting %s"), *File.Name, *File.CompressionSettings.ToString());
	}
	const int64 Group = StaticEnum<TextureGroup>()->GetValueByName(File.LODGroup);
	if (Group != INDEX_NONE)
	{
		Texture->LODGroup = static_cast<TextureGroup>(Group);
	}
	Texture->bFlipGreenChannel = File.bFlipGreenChannel;
	Texture->PostEditChange();
	Texture->MarkPackageDirty();
	return Texture;
}

UMaterial* FIntrinsiXAssetImporter::FindOrCreateParentMaterial(const TMap<FName, UTexture2D*>& Defaults, FString& OutError)
{
	const FSoftObjectPath Path = GetDefault<UIntrinsiXSettings>()->ParentMaterial;
	if (UMaterial* Existing = LoadIfExists<UMaterial>(Path.ToString()))
	{
		return Existing;
	}
	// The new parent samples this result's own textures by default: their sampler types (Color,
	// Normal, Masks) then match the parameters by construction.
	for (const FName& Parameter : {BaseColorParameter, NormalParameter, OrmParameter})
	{
		if (!Defaults.Contains(Parameter))
		{
			OutError = FString::Printf(TEXT("the parent material %s does not exist and this result has no %s texture to "
				"create it from; generate once with the Unreal profile"), *Path.ToString(), *Parameter.ToString());
			return nullptr;
		}
	}
	const FString PackagePath = FPackageName::GetLongPackagePath(Path.GetLongPackageName());
	IAssetTools& AssetTools = FModuleManager::LoadModuleChecked<FAssetToolsModule>("AssetTools").Get();
	UMaterial* Material = Cast<UMaterial>(
		AssetTools.CreateAsset(Path.GetAssetName(), PackagePath, UMaterial::StaticClass(), NewObject<UMaterialFactoryNew>()));
	if (Material == nullptr)
	{
		OutError = FString::Printf(TEXT("could not create the parent material %s"), *Path.ToString());
		return nullptr;
	}
	auto AddParameter = [Material, &Defaults](const FName& Name, int32 Y)
	{
		auto* Node = Cast<UMaterialExpressionTextureSampleParameter2D>(UMaterialEditingLibrary::CreateMaterialExpression(
			Material, UMaterialExpressionTextureSampleParameter2D::StaticClass(), -480, Y));
		Node->ParameterName = Name;
		Node->Texture = Defaults[Name];
		Node->AutoSetSampleType();
		return Node;
	};
	UMaterialExpressionTextureSampleParameter2D* BaseColor = AddParameter(BaseColorParameter, -300);
	UMaterialExpressionTextureSampleParameter2D* Normal = AddParameter(NormalParameter, 0);
	UMaterialExpressionTextureSampleParameter2D* Orm = AddParameter(OrmParameter, 300);
	UMaterialEditingLibrary::ConnectMaterialProperty(BaseColor, TEXT("RGB"), MP_BaseColor);
	UMaterialEditingLibrary::ConnectMaterialProperty(Normal, TEXT("RGB"), MP_Normal);
	// ORM packing (checked by the client core): R ambient occlusion, G roughness, B metallic.
	UMaterialEditingLibrary::ConnectMaterialProperty(Orm, TEXT("R"), MP_AmbientOcclusion);
	UMaterialEditingLibrary::ConnectMaterialProperty(Orm, TEXT("G"), MP_Roughness);
	UMaterialEditingLibrary::ConnectMaterialProperty(Orm, TEXT("B"), MP_Metallic);
	UMaterialEditingLibrary::RecompileMaterial(Material);
	Material->MarkPackageDirty();
	UE_LOG(LogIntrinsiXImport, Log, TEXT("created the parent material %s"), *Path.ToString());
	return Material;
}

UMaterialInstanceConstant* FIntrinsiXAssetImporter::CreateOrUpdateInstance(const FString& Name,
	const FString& ContentFolder, UMaterial* Parent, const TMap<FName, UTexture2D*>& Textures, FString& OutError)
{
	UMaterialInstanceConstant* Instance = LoadIfExists<UMaterialInstanceConstant>(ObjectPath(ContentFolder, Name));
	if (Instance == nullptr)
	{
		UMaterialInstanceConstantFactoryNew* Factory = NewObject<UMaterialInstanceConstantFactoryNew>();
		Factory->InitialParent = Parent;
		IAssetTools& AssetTools = FModuleManager::LoadModuleChecked<FAssetToolsModule>("AssetTools").Get();
		Instance = Cast<UMaterialInstanceConstant>(
			AssetTools.CreateAsset(Name, ContentFolder, UMaterialInstanceConstant::StaticClass(), Factory));
	}
	if (Instance == nullptr)
	{
		OutError = FString::Printf(TEXT("could not create the material instance %s in %s"), *Name, *ContentFolder);
		return nullptr;
	}
	UMaterialEditingLibrary::SetMaterialInstanceParent(Instance, Parent);
	for (const TPair<FName, UTexture2D*>& Binding : Textures)
	{
		UMaterialEditingLibrary::SetMaterialInstanceTextureParameterValue(Instance, Binding.Key, Binding.Value);
	}
	UMaterialEditingLibrary::UpdateMaterialInstance(Instance);
	Instance->MarkPackageDirty();
	return Instance;
}

FIntrinsiXImportOutcome FIntrinsiXAssetImporter::Import(const FIntrinsiXResult& Result, const FString& ContentFolder)
{
	FIntrinsiXImportOutcome Outcome;
	TMap<FString, UTexture2D*> ByFile;
	for (const FIntrinsiXTextureFile& File : Result.Files)
	{
		if (!File.bIsTexture)
		{
			continue;  // material.json, glTF: kept on disk only
		}
		FString Error;
		UTexture2D* Texture = ImportTexture(File, ContentFolder, Error);
		if (Texture == nullptr)
		{
			Outcome.Error = Error;
			return Outcome;
		}
		ByFile.Add(File.Name, Texture);
		Outcome.Textures.Add(Texture);
	}

	TArray<UPackage*> Packages;
	for (UTexture2D* Texture : Outcome.Textures)
	{
		Packages.AddUnique(Texture->GetOutermost());
	}
	if (!Result.MaterialPlanError.IsEmpty())
	{
		Outcome.Error = TEXT("textures imported, no material: ") + Result.MaterialPlanError;
	}
	else
	{
		TMap<FName, UTexture2D*> ByParameter;
		for (const FIntrinsiXMaterialBinding& Binding : Result.MaterialBindings)
		{
			if (UTexture2D** Texture = ByFile.Find(Binding.FileName))
			{
				ByParameter.Add(Binding.Parameter, *Texture);
			}
		}
		FString Error;
		UMaterial* Parent = FindOrCreateParentMaterial(ByParameter, Error);
		if (Parent != nullptr)
		{
			Packages.AddUnique(Parent->GetOutermost());
			Outcome.MaterialInstance =
				CreateOrUpdateInstance(Result.MaterialInstanceName, ContentFolder, Parent, ByParameter, Error);
		}
		if (Outcome.MaterialInstance != nullptr)
		{
			Packages.AddUnique(Outcome.MaterialInstance->GetOutermost());
		}
		else
		{
			Outcome.Error = TEXT("textures imported, no material: ") + Error;
		}
	}
	if (!UEditorLoadingAndSavingUtils::SavePackages(Packages, /*bOnlyDirty=*/true))
	{
		Outcome.Error = TEXT("the assets were created but could not all be saved (source control? see the Output Log)");
	}
	return Outcome;
}
