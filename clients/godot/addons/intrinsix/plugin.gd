@tool
extends EditorPlugin
## IntrinsiX editor plugin: registers the project settings under plugins/intrinsix/..., and adds
## the IntrinsiX dock on enable / removes it on disable.
##
## The access token is a secret: it is read from the environment variable INTRINSIX_TOKEN or from
## the per-user editor setting plugins/intrinsix/token (Editor Settings, never project.godot, which
## is usually committed), and it is never printed.

const Settings := preload("res://addons/intrinsix/settings.gd")
const Dock := preload("res://addons/intrinsix/dock.gd")

var _dock: Control


func _enter_tree() -> void:
	Settings.register_project_settings()
	Settings.register_editor_settings(EditorInterface.get_editor_settings())
	_dock = Dock.new()
	_dock.name = "IntrinsiX"
	add_control_to_dock(DOCK_SLOT_RIGHT_UL, _dock)


func _exit_tree() -> void:
	if is_instance_valid(_dock):
		remove_control_from_docks(_dock)
		_dock.queue_free()
	_dock = null
