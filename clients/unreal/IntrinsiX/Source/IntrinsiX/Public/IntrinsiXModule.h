#pragma once

#include "Modules/ModuleInterface.h"

// Runtime module of the IntrinsiX plugin: owns the shared server connection (FIntrinsiXConnection).
class FIntrinsiXModule : public IModuleInterface
{
public:
	virtual void ShutdownModule() override;
};
