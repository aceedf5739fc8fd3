@tool
extends RefCounted
## The addon's settings. Project settings (shared with the team, saved in project.godot):
##   plugins/intrinsix/server_address           host:port of the IntrinsiX server
##   plugins/intrinsix/use_tls                  encrypt the connection
##   plugins/intrinsix/root_certificates_file   PEM roots to trust (empty = the system's)
##   plugins/intrinsix/connect_timeout_seconds  how long a job waits for the connection
##   plugins/intrinsix/output_folder            res:// folder for results (<folder>/<Material>/)
##   plugins/intrinsix/use_heightmap            bind the height map (parallax) in the material
## Editor setting (per user, not in the project): plugins/intrinsix/token.

const PREFIX := "plugins/intrinsix/"
const TOKEN_SETTING := "plugins/intrinsix/token"

# name -> [default, type, hint, hint_string]
const PROJECT_SETTINGS := {
	"server_address": ["127.0.0.1:50051", TYPE_STRING, PROPERTY_HINT_NONE, ""],
	"use_tls": [false, TYPE_BOOL, PROPERTY_HINT_NONE, ""],
	"root_certificates_file": ["", TYPE_STRING, PROPERTY_HINT_GLOBAL_FILE, "*.pem,*.crt"],
	"connect_timeout_seconds": [5, TYPE_INT, PROPERTY_HINT_RANGE, "1,120"],
	"output_folder": ["res://intrinsix", TYPE_STRING, PROPERTY_HINT_DIR, ""],
	"use_heightmap": [false, TYPE_BOOL, PROPERTY_HINT_NONE, ""],
}


static func register_project_settings() -> void:
	for key in PROJECT_SETTINGS:
		var spec: Array = PROJECT_SETTINGS[key]
		var path: String = PREFIX + key
		if not ProjectSettings.has_setting(path):
			ProjectSettings.set_setting(path, spec[0])
		ProjectSettings.set_initial_value(path, spec[0])
		ProjectSettings.add_property_info(
			{"name": path, "type": spec[1], "hint": spec[2], "hint_string": spec[3]})


static func register_editor_settings(editor_settings: EditorSettings) -> void:
	if not editor_settings.has_setting(TOKEN_SETTING):
		editor_settings.set_setting(TOKEN_SETTING, "")
	editor_settings.set_initial_value(TOKEN_SETTING, "", false)
	editor_settings.add_property_info(
		{"name": TOKEN_SETTING, "type": TYPE_STRING, "hint": PROPERTY_HINT_PASSWORD, "hint_string": ""})


static func value(key: String) -> Variant:
	var spec: Array = PROJECT_SETTINGS[key]
	return ProjectSettings.get_setting(PREFIX + key, spec[0])


## The token: INTRINSIX_TOKEN if set, else the editor setting. Never print the result.
static func token() -> String:
	var from_environment := OS.get_environment("INTRINSIX_TOKEN")
	if not from_environment.is_empty():
		return from_environment
	var editor_settings := EditorInterface.get_editor_settings()
	if not editor_settings.has_setting(TOKEN_SETTING):
		return ""
	return str(editor_settings.get_setting(TOKEN_SETTING))


## PEM text of the configured root certificates, or "" (system roots).
static func root_certificates() -> String:
	var path: String = value("root_certificates_file")
	if path.is_empty():
		return ""
	var text := FileAccess.get_file_as_string(path)
	if text.is_empty():
		push_warning("IntrinsiX: cannot read root certificates from %s; using the system's" % path)
	return text
