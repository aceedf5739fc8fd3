#include "IntrinsiXModule.h"

#include "IntrinsiXConnection.h"
#include "Modules/ModuleManager.h"

void FIntrinsiXModule::ShutdownModule()
{
	// Stops the streams (jobs go on on the server) and joins the client's threads before the
	// module's code is unloaded.
	FIntrinsiXConnection::Reset();
}

IMPLEMENT_MODULE(FIntrinsiXModule, IntrinsiX)
