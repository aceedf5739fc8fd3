#include "IntrinsiXEditorModule.h"

#include "Framework/Docking/TabManager.h"
#include "Modules/ModuleManager.h"
#include "SIntrinsiXPanel.h"
#include "Styling/AppStyle.h"
#include "Widgets/Docking/SDockTab.h"
#include "WorkspaceMenuStructure.h"
#include "WorkspaceMenuStructureModule.h"

#define LOCTEXT_NAMESPACE "IntrinsiXEditor"

namespace
{
const FName IntrinsiXTabName(TEXT("IntrinsiX"));
}

void FIntrinsiXEditorModule::StartupModule()
{
	FGlobalTabmanager::Get()
		->RegisterNomadTabSpawner(IntrinsiXTabName, FOnSpawnTab::CreateRaw(this, &FIntrinsiXEditorModule::SpawnTab))
		.SetDisplayName(LOCTEXT("TabTitle", "IntrinsiX"))
		.SetTooltipText(LOCTEXT("TabTooltip", "Generate PBR texture sets from text on an IntrinsiX server"))
		.SetGroup(WorkspaceMenu::GetMenuStructure().GetToolsCategory())
		.SetIcon(FSlateIcon(FAppStyle::GetAppStyleSetName(), "ClassIcon.Material"));
}

void FIntrinsiXEditorModule::ShutdownModule()
{
	if (FSlateApplication::IsInitialized())
	{
		FGlobalTabmanager::Get()->UnregisterNomadTabSpawner(IntrinsiXTabName);
	}
}

TSharedRef<SDockTab> FIntrinsiXEditorModule::SpawnTab(const FSpawnTabArgs& Args)
{
	return SNew(SDockTab).TabRole(ETabRole::NomadTab)[SNew(SIntrinsiXPanel)];
}

#undef LOCTEXT_NAMESPACE

IMPLEMENT_MODULE(FIntrinsiXEditorModule, IntrinsiXEditor)
