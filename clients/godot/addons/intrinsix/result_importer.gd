@tool
extends RefCounted
## Imports a finished job into the project, in steps driven by the dock's _process():
##   1. next to every received texture, write its `.import` file with the settings the client
##      core chose (normal map on for normals, VRAM compression for 8-bit maps, uncompressed float
##      height, green inverted for DirectX normals), so Godot's first import already uses them;
##   2. let the editor scan the new folder (it imports the textures with those settings);
##   3. when every texture loads, build the material the core planned (ORMMaterial3D for ORM sets,
##      StandardMaterial3D for separate maps) and save it as <Material>_material.tres.

const SCAN_TIMEOUT_MS := 120000

var _client: RefCounted  # IntrinsiXClient (for the core's decisions)
var _result := {}
var _folder := ""
var _use_height := false
var _stage := 0  # 0 idle, 1 waiting for the scan / import, 2 done
var _started_ms := 0
var _failed := false


func _init(client: RefCounted) -> void:
	_client = client


func is_pending() -> bool:
	return _stage == 1


func failed() -> bool:
	return _failed


## Step 1 and the start of step 2. `folder` is the res:// folder the files were written to.
func start(result: Dictionary, folder: String, use_height: bool) -> void:
	_result = result
	_folder = folder
	_use_height = use_height
	_failed = false
	for file in result.files:
		var import_text: String = _client.godot_import_file(file)
		if import_text.is_empty():
			continue  # not a texture (material.json)
		var import_path: String = _folder.path_join(file.name) + ".import"
		var handle := FileAccess.open(import_path, FileAccess.WRITE)
		if handle == null:
			push_warning("IntrinsiX: cannot write %s; %s is imported with default settings"
				% [import_path, file.name])
			continue
		handle.store_string(import_text)
		handle.close()
	EditorInterface.get_resource_filesystem().scan()
	_started_ms = Time.get_ticks_msec()
	_stage = 1


## Steps 2 and 3, called every frame while pending. Returns a status line when something
## finished ("" while still waiting).
func advance() -> String:
	var filesystem := EditorInterface.get_resource_filesystem()
	if filesystem.is_scanning():
		return ""
	var textures := {}
	for file in _result.files:
		if _client.godot_import_file(file).is_empty():
			continue
		var path: String = _folder.path_join(file.name)
		if not ResourceLoader.exists(path):
			if Time.get_ticks_msec() - _started_ms > SCAN_TIMEOUT_MS:
				return _finish("Timed out waiting for Godot to import %s." % path, true)
			return ""
		textures[file.name] = path
	return _build_material(textures)


func _build_material(textures: Dictionary) -> String:
	var plan: Dictionary = _client.material_plan(_result.files, _use_height)
	if not str(plan.error).is_empty():
		return _finish("Textures imported into %s; no material: %s" % [_folder, plan.error], true)
	var material: BaseMaterial3D = ClassDB.instantiate(plan.material_class)
	for binding in plan.bindings:
		var texture := load(textures[binding.file_name]) as Texture2D
		if texture == null:
			return _finish("Could not load %s." % textures[binding.file_name], true)
		material.set(binding.parameter, texture)
		if not str(binding.enable_property).is_empty():
			material.set(binding.enable_property, true)
		if not str(binding.channel_property).is_empty():
			material.set(binding.channel_property, int(binding.channel))
	for scalar in plan.scalars:
		material.set(scalar.name, scalar.value)
	material.resource_name = _result.material_name
	var material_file: String = _client.godot_material_file_name(_result.material_name)
	var material_path := _folder.path_join(material_file)
	var error := ResourceSaver.save(material, material_path)
	if error != OK:
		return _finish("Could not save %s (error %d)." % [material_path, error], true)
	EditorInterface.get_resource_filesystem().update_file(material_path)
	EditorInterface.get_file_system_dock().navigate_to_path(material_path)
	return _finish("Imported %d textures and %s." % [textures.size(), material_path], false)


func _finish(message: String, is_error: bool) -> String:
	_stage = 2
	_failed = is_error
	return message
