// GDExtension entry point: registers IntrinsiXClient (see intrinsix.gdextension, entry_symbol).
#include <gdextension_interface.h>

#include <godot_cpp/core/class_db.hpp>
#include <godot_cpp/core/defs.hpp>
#include <godot_cpp/godot.hpp>

#include "intrinsix_client_object.h"

namespace {

void initialize_intrinsix(godot::ModuleInitializationLevel level) {
  if (level != godot::MODULE_INITIALIZATION_LEVEL_SCENE) return;
  GDREGISTER_CLASS(intrinsix_godot::IntrinsiXClient);
}

void uninitialize_intrinsix(godot::ModuleInitializationLevel level) {}

}  // namespace

extern "C" {

GDExtensionBool GDE_EXPORT intrinsix_library_init(GDExtensionInterfaceGetProcAddress get_proc_address,
                                                  GDExtensionClassLibraryPtr library,
                                                  GDExtensionInitialization* initialization) {
  godot::GDExtensionBinding::InitObject init(get_proc_address, library, initialization);
  init.register_initializer(initialize_intrinsix);
  init.register_terminator(uninitialize_intrinsix);
  init.set_minimum_library_initialization_level(godot::MODULE_INITIALIZATION_LEVEL_SCENE);
  return init.init();
}

}  // extern "C"
