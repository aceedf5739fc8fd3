// Editor module: the IntrinsiX tab (prompt, seed, size, tileable, target folder, Generate / Cancel,
// progress and live preview) and the import of results as texture assets and a material instance.
// It uses the runtime module's Unreal-typed API only; the client core and gRPC stay in IntrinsiX.
using UnrealBuildTool;

public class IntrinsiXEditor : ModuleRules
{
	public IntrinsiXEditor(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });
		PrivateDependencyModuleNames.AddRange(new string[]
		{
			"IntrinsiX",
			"AssetTools",
			"InputCore",
			"MaterialEditor",  // UMaterialEditingLibrary
			"Slate",
			"SlateCore",
			"UnrealEd",
			"WorkspaceMenuStructure",
		});
	}
}
