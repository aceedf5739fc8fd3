#include "SIntrinsiXPanel.h"

#include "Containers/Ticker.h"
#include "Editor.h"
#include "Engine/Texture2D.h"
#include "Framework/Notifications/NotificationManager.h"
#include "IntrinsiXAssetImporter.h"
#include "IntrinsiXSettings.h"
#include "Materials/MaterialInstanceConstant.h"
#include "Styling/AppStyle.h"
#include "Widgets/Images/SImage.h"
#include "Widgets/Input/SButton.h"
#include "Widgets/Input/SCheckBox.h"
#include "Widgets/Input/SEditableTextBox.h"
#include "Widgets/Input/SMultiLineEditableTextBox.h"
#include "Widgets/Input/SNumericEntryBox.h"
#include "Widgets/Layout/SBox.h"
#include "Widgets/Layout/SScrollBox.h"
#include "Widgets/Notifications/SNotificationList.h"
#include "Widgets/Notifications/SProgressBar.h"
#include "Widgets/Text/STextBlock.h"

#define LOCTEXT_NAMESPACE "SIntrinsiXPanel"

namespace
{
constexpr float PreviewSide = 256.0f;

TSharedRef<SWidget> Labeled(const FText& Label, const TSharedRef<SWidget>& Content)
{
	return SNew(SHorizontalBox)
		+ SHorizontalBox::Slot().AutoWidth().VAlign(VAlign_Center).Padding(0, 0, 8, 0)
		[
			SNew(SBox).WidthOverride(110.0f)[SNew(STextBlock).Text(Label)]
		]
		+ SHorizontalBox::Slot().FillWidth(1.0f).VAlign(VAlign_Center)[Content];
}
}  // namespace

void SIntrinsiXPanel::Construct(const FArguments& InArgs)
{
	TargetFolder = GetDefault<UIntrinsiXSettings>()->TargetContentFolder;
	PreviewBrush.ImageSize = FVector2D(PreviewSide, PreviewSide);

	auto PreviewButton = [this](EIntrinsiXBranch Branch, const FText& Label)
	{
		return SNew(SCheckBox)
			.Style(FAppStyle::Get(), "RadioButton")
			.IsChecked_Lambda([this, Branch]() { return ShownBranch == Branch ? ECheckBoxState::Checked : ECheckBoxState::Unchecked; })
			.OnCheckStateChanged_Lambda([this, Branch](ECheckBoxState) { ShowPreview(Branch); })
			[SNew(STextBlock).Text(Label)];
	};

	ChildSlot
	[
		SNew(SScrollBox)
		+ SScrollBox::Slot().Padding(8)
		[
			SNew(SVerticalBox)
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 0, 0, 4)
			[
				SNew(STextBlock).Text(LOCTEXT("Prompt", "Prompt"))
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 0, 0, 8)
			[
				SNew(SBox).MinDesiredHeight(60.0f)
				[
					SNew(SMultiLineEditableTextBox)
					.HintText(LOCTEXT("PromptHint", "e.g. weathered red brick wall with moss"))
					.AutoWrapText(true)
					.OnTextChanged_Lambda([this](const FText& Text) { Prompt = Text.ToString(); })
				]
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 2)
			[
				Labeled(LOCTEXT("Seed", "Seed"),
					SNew(SHorizontalBox)
					+ SHorizontalBox::Slot().AutoWidth().VAlign(VAlign_Center).Padding(0, 0, 8, 0)
					[
						SNew(SCheckBox)
						.IsChecked_Lambda([this]() { return bRandomSeed ? ECheckBoxState::Checked : ECheckBoxState::Unchecked; })
						.OnCheckStateChanged_Lambda([this](ECheckBoxState State) { bRandomSeed = State == ECheckBoxState::Checked; })
						[SNew(STextBlock).Text(LOCTEXT("RandomSeed", "Random"))]
					]
					+ SHorizontalBox::Slot().FillWidth(1.0f)
					[
						SNew(SNumericEntryBox<int64>)
						.IsEnabled_Lambda([this]() { return !bRandomSeed; })
						.MinValue(0)
						.Value_Lambda([this]() { return TOptional<int64>(Seed); })
						.OnValueCommitted_Lambda([this](int64 Value, ETextCommit::Type) { Seed = FMath::Max<int64>(0, Value); })
					])
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 2)
			[
				Labeled(LOCTEXT("Size", "Size (px)"),
					SNew(SNumericEntryBox<int32>)
					.MinValue(64)
					.MaxValue(2048)
					.Value_Lambda([this]() { return TOptional<int32>(Size); })
					// The server needs a multiple of 16.
					.OnValueCommitted_Lambda([this](int32 Value, ETextCommit::Type) { Size = FMath::Clamp((Value + 8) / 16 * 16, 64, 2048); }))
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 2)
			[
				Labeled(LOCTEXT("Tileable", "Tileable"),
					SNew(SCheckBox)
					.IsChecked_Lambda([this]() { return bTileable ? ECheckBoxState::Checked : ECheckBoxState::Unchecked; })
					.OnCheckStateChanged_Lambda([this](ECheckBoxState State) { bTileable = State == ECheckBoxState::Checked; }))
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 2)
			[
				Labeled(LOCTEXT("Target", "Target folder"),
					SNew(SEditableTextBox)
					.Text_Lambda([this]() { return FText::FromString(TargetFolder); })
					.OnTextCommitted_Lambda([this](const FText& Text, ETextCommit::Type) { TargetFolder = Text.ToString(); }))
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 8)
			[
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().AutoWidth().Padding(0, 0, 8, 0)
				[
					SNew(SButton)
					.Text(LOCTEXT("Generate", "Generate"))
					.IsEnabled_Lambda([this]() { return IsIdle() && !Prompt.TrimStartAndEnd().IsEmpty(); })
					.OnClicked(this, &SIntrinsiXPanel::OnGenerate)
				]
				+ SHorizontalBox::Slot().AutoWidth()
				[
					SNew(SButton)
					.Text(LOCTEXT("Cancel", "Cancel"))
					.IsEnabled_Lambda([this]() { return !IsIdle(); })
					.OnClicked(this, &SIntrinsiXPanel::OnCancel)
				]
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 2)
			[
				SNew(SProgressBar).Percent_Lambda([this]() { return TOptional<float>(Progress); })
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 2, 0, 8)
			[
				SNew(STextBlock)
				.AutoWrapText(true)
				.Text_Lambda([this]() { return Status; })
				.ColorAndOpacity_Lambda([this]() { return bStatusIsError ? FSlateColor(FLinearColor(1.0f, 0.3f, 0.3f)) : FSlateColor::UseForeground(); })
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 2)
			[
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().AutoWidth().Padding(0, 0, 8, 0)[PreviewButton(EIntrinsiXBranch::Albedo, LOCTEXT("Albedo", "Albedo"))]
				+ SHorizontalBox::Slot().AutoWidth().Padding(0, 0, 8, 0)[PreviewButton(EIntrinsiXBranch::Material, LOCTEXT("Material", "Roughness / metallic"))]
				+ SHorizontalBox::Slot().AutoWidth()[PreviewButton(EIntrinsiXBranch::Normal, LOCTEXT("Normal", "Normal"))]
			]
			+ SVerticalBox::Slot().AutoHeight().HAlign(HAlign_Left).Padding(0, 4)
			[
				SNew(SBox).WidthOverride(PreviewSide).HeightOverride(PreviewSide)[SNew(SImage).Image(&PreviewBrush)]
			]
		]
	];
}

SIntrinsiXPanel::~SIntrinsiXPanel()
{
	if (!IsIdle())
	{
		Job.Cancel();
	}
}

void SIntrinsiXPanel::SetStatus(const FText& Text, bool bError)
{
	Status = Text;
	bStatusIsError = bError;
}

FReply SIntrinsiXPanel::OnGenerate()
{
	FIntrinsiXGenerateRequest Request;
	Request.Prompt = Prompt.TrimStartAndEnd();
	Request.Seed = bRandomSeed ? -1 : Seed;
	Request.Width = Size;
	Request.Height = Size;
	Request.bTileable = bTileable;
	Request.Profile = EIntrinsiXProfile::Unreal;
	Request.PreviewEvery = 1;
	Request.bOverwrite = true;
	const FString MaterialName = FIntrinsiXConnection::ResolveMaterialName(Request);
	const FString ContentFolder = TargetFolder / MaterialName;

	Progress = 0.0f;
	LatestPreview.Reset();
	TSharedPtr<FIntrinsiXConnection> Connection = FIntrinsiXConnection::Get();
	SetStatus(FText::Format(LOCTEXT("Connecting", "Sending to {0}..."), FText::FromString(Connection->GetAddress())));

	// Callbacks run on the game thread; the weak pointer guards against a closed tab.
	TWeakPtr<SIntrinsiXPanel> Weak = StaticCastSharedRef<SIntrinsiXPanel>(AsShared());
	FIntrinsiXJobCallbacks Callbacks;
	Callbacks.OnAccepted = [Weak](const FIntrinsiXJobUpdate& Update)
	{
		if (TSharedPtr<SIntrinsiXPanel> Panel = Weak.Pin())
		{
			Panel->SetStatus(FText::Format(LOCTEXT("Accepted", "Job {0} accepted (seed {1}, {2} ahead in the queue)"),
				FText::FromString(Update.JobId), FText::AsNumber(Update.Seed), FText::AsNumber(Update.QueuePosition)));
		}
	};
	Callbacks.OnProgress = [Weak](const FIntrinsiXJobUpdate& Update)
	{
		if (TSharedPtr<SIntrinsiXPanel> Panel = Weak.Pin())
		{
			Panel->Progress = Update.Progress;
			Panel->SetStatus(Update.Total > 0
				? FText::Format(LOCTEXT("Stage", "{0} {1}/{2}"), FText::FromString(Update.Stage), Update.Step, Update.Total)
				: FText::FromString(Update.Stage));
		}
	};
	Callbacks.OnPreview = [Weak](const FIntrinsiXJobUpdate& Update)
	{
		if (TSharedPtr<SIntrinsiXPanel> Panel = Weak.Pin())
		{
			Panel->OnPreview(Update);
		}
	};
	Callbacks.OnCompleted = [Weak, ContentFolder](const FIntrinsiXResult& Result)
	{
		if (TSharedPtr<SIntrinsiXPanel> Panel = Weak.Pin())
		{
			Panel->Progress = 1.0f;
			Panel->SetStatus(LOCTEXT("Importing", "Importing..."));
			// Import on the next tick, outside the task that delivered this callback (importers use
			// the task graph themselves).
			FTSTicker::GetCoreTicker().AddTicker(FTickerDelegate::CreateLambda([Weak, Result, ContentFolder](float)
			{
				if (TSharedPtr<SIntrinsiXPanel> Alive = Weak.Pin())
				{
					Alive->ImportResult(Result, ContentFolder);
				}
				return false;  // once
			}));
		}
	};
	Callbacks.OnFailed = [Weak](const FIntrinsiXError& Error)
	{
		if (TSharedPtr<SIntrinsiXPanel> Panel = Weak.Pin())
		{
			Panel->SetStatus(FText::FromString(Error.Message), Error.Code != EIntrinsiXStatus::Cancelled);
		}
	};
	Job = Connection->Generate(Request, MoveTemp(Callbacks));
	return FReply::Handled();
}

FReply SIntrinsiXPanel::OnCancel()
{
	Job.Cancel();
	SetStatus(LOCTEXT("Cancelling", "Cancelling..."));
	return FReply::Handled();
}

void SIntrinsiXPanel::OnPreview(const FIntrinsiXJobUpdate& Update)
{
	LatestPreview.Add(Update.PreviewBranch, Update.PreviewPng);
	if (Update.PreviewBranch == ShownBranch)
	{
		ShowPreview(ShownBranch);
	}
}

void SIntrinsiXPanel::ShowPreview(EIntrinsiXBranch Branch)
{
	ShownBranch = Branch;
	const TArray<uint8>* Png = LatestPreview.Find(Branch);
	UTexture2D* Texture = Png ? FIntrinsiXConnection::MakePreviewTexture(*Png) : nullptr;
	PreviewTexture.Reset(Texture);
	PreviewBrush.SetResourceObject(Texture);
	PreviewBrush.ImageSize = FVector2D(PreviewSide, PreviewSide);
}

void SIntrinsiXPanel::ImportResult(const FIntrinsiXResult& Result, const FString& ContentFolder)
{
	const FIntrinsiXImportOutcome Outcome = FIntrinsiXAssetImporter::Import(Result, ContentFolder);
	if (Outcome.MaterialInstance != nullptr && GEditor != nullptr)
	{
		TArray<UObject*> Objects{Outcome.MaterialInstance};
		GEditor->SyncBrowserToObjects(Objects);
	}
	const FText Message = Outcome.Error.IsEmpty()
		? FText::Format(LOCTEXT("Imported", "Imported {0} textures and {1} into {2}"), Outcome.Textures.Num(),
			FText::FromString(Result.MaterialInstanceName), FText::FromString(ContentFolder))
		: FText::FromString(Outcome.Error);
	SetStatus(Message, !Outcome.Error.IsEmpty());
	FNotificationInfo Info(Message);
	Info.ExpireDuration = 5.0f;
	FSlateNotificationManager::Get().AddNotification(Info);
}

#undef LOCTEXT_NAMESPACE
