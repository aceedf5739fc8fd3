@tool
extends VBoxContainer
## The IntrinsiX dock: prompt, seed, size, tileable, target folder, Generate / Cancel, progress bar
## and a live preview. Jobs run in the GDExtension class IntrinsiXClient; its signals are emitted
## from poll(), which this dock calls every frame, so all handlers run on the editor's main thread.

const Settings := preload("res://addons/intrinsix/settings.gd")
const ResultImporter := preload("res://addons/intrinsix/result_importer.gd")
const BRANCHES := ["albedo", "material", "normal"]

var _client: RefCounted  # IntrinsiXClient, or null when the GDExtension is not built
var _importer: ResultImporter
var _job := 0
var _target_folder := ""  # res:// folder of the running job
var _previews := {}  # branch -> latest PNG bytes

var _prompt: TextEdit
var _seed: SpinBox
var _random_seed: CheckBox
var _size: SpinBox
var _tileable: CheckBox
var _folder: LineEdit
var _generate: Button
var _cancel: Button
var _progress: ProgressBar
var _status: Label
var _branch: OptionButton
var _preview: TextureRect


func _ready() -> void:
	_build_ui()
	if not ClassDB.class_exists("IntrinsiXClient"):
		_set_status("The IntrinsiX GDExtension is not built for this platform (addons/intrinsix/bin). "
			+ "See docs/engines/godot.md.", true)
		_generate.disabled = true
		return
	_client = ClassDB.instantiate("IntrinsiXClient")
	_client.connect("job_accepted", _on_accepted)
	_client.connect("job_progress", _on_progress)
	_client.connect("job_preview", _on_preview)
	_client.connect("job_completed", _on_completed)
	_client.connect("job_failed", _on_failed)
	_importer = ResultImporter.new(_client)


func _exit_tree() -> void:
	# Closing the dock (plugin disabled) cancels the running job: its result would have nowhere to go.
	if _client != null and _job != 0 and not _client.is_finished(_job):
		_client.cancel(_job)
		_client.poll()


func _process(_delta: float) -> void:
	if _client != null:
		_client.poll()
	if _importer != null and _importer.is_pending():
		var message := _importer.advance()
		if not message.is_empty():
			_set_status(message, _importer.failed())


func _build_ui() -> void:
	add_theme_constant_override("separation", 6)
	add_child(_label("Prompt"))
	_prompt = TextEdit.new()
	_prompt.placeholder_text = "e.g. weathered red brick wall with moss"
	_prompt.custom_minimum_size = Vector2(0, 72)
	_prompt.wrap_mode = TextEdit.LINE_WRAPPING_BOUNDARY
	add_child(_prompt)

	var seed_row := HBoxContainer.new()
	seed_row.add_child(_label("Seed"))
	_random_seed = CheckBox.new()
	_random_seed.text = "Random"
	_random_seed.button_pressed = true
	seed_row.add_child(_random_seed)
	_seed = SpinBox.new()
	_seed.min_value = 0
	_seed.max_value = 2147483647
	_seed.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	_random_seed.toggled.connect(func(on: bool) -> void: _seed.editable = not on)
	_seed.editable = false
	seed_row.add_child(_seed)
	add_child(seed_row)

	var size_row := HBoxContainer.new()
	size_row.add_child(_label("Size (px)"))
	_size = SpinBox.new()
	_size.min_value = 64
	_size.max_value = 2048
	_size.step = 16  # the server needs a multiple of 16
	_size.value = 512
	_size.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	size_row.add_child(_size)
	_tileable = CheckBox.new()
	_tileable.text = "Tileable"
	size_row.add_child(_tileable)
	add_child(size_row)

	var folder_row := HBoxContainer.new()
	folder_row.add_child(_label("Target folder"))
	_folder = LineEdit.new()
	_folder.text = Settings.value("output_folder")
	_folder.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	folder_row.add_child(_folder)
	add_child(folder_row)

	var buttons := HBoxContainer.new()
	_generate = Button.new()
	_generate.text = "Generate"
	_generate.pressed.connect(_on_generate_pressed)
	buttons.add_child(_generate)
	_cancel = Button.new()
	_cancel.text = "Cancel"
	_cancel.disabled = true
	_cancel.pressed.connect(_on_cancel_pressed)
	buttons.add_child(_cancel)
	add_child(buttons)

	_progress = ProgressBar.new()
	_progress.min_value = 0.0
	_progress.max_value = 1.0
	_progress.step = 0.001
	add_child(_progress)
	_status = Label.new()
	_status.autowrap_mode = TextServer.AUTOWRAP_WORD_SMART
	add_child(_status)

	var preview_row := HBoxContainer.new()
	preview_row.add_child(_label("Preview"))
	_branch = OptionButton.new()
	for branch in BRANCHES:
		_branch.add_item(branch.capitalize())
	_branch.item_selected.connect(func(_index: int) -> void: _show_preview())
	preview_row.add_child(_branch)
	add_child(preview_row)
	_preview = TextureRect.new()
	_preview.custom_minimum_size = Vector2(256, 256)
	_preview.expand_mode = TextureRect.EXPAND_IGNORE_SIZE
	_preview.stretch_mode = TextureRect.STRETCH_KEEP_ASPECT_CENTERED
	add_child(_preview)


func _label(text: String) -> Label:
	var label := Label.new()
	label.text = text
	label.custom_minimum_size = Vector2(90, 0)
	return label


func _set_status(text: String, is_error := false) -> void:
	_status.text = text
	_status.modulate = Color(1.0, 0.45, 0.45) if is_error else Color.WHITE


func _set_running(running: bool) -> void:
	_generate.disabled = running
	_cancel.disabled = not running


func _on_generate_pressed() -> void:
	var prompt := _prompt.text.strip_edges()
	if prompt.is_empty():
		_set_status("Write a prompt first.", true)
		return
	_client.configure(Settings.value("server_address"), Settings.token(), Settings.value("use_tls"),
		Settings.root_certificates(), int(Settings.value("connect_timeout_seconds")) * 1000)
	# The material name is fixed here so the output folder is known before the result arrives.
	var material_name: String = _client.material_name_from_prompt(prompt)
	_target_folder = _folder.text.strip_edges().trim_suffix("/").path_join(material_name)
	var side := int(_size.value)
	var request := {
		"prompt": prompt,
		"seed": -1 if _random_seed.button_pressed else int(_seed.value),
		"width": side,
		"height": side,
		"tileable": _tileable.button_pressed,
		"profile": "godot",
		"material_name": material_name,
		"preview_every": 1,
		"output_dir": ProjectSettings.globalize_path(_target_folder),
		"overwrite": true,
	}
	_previews.clear()
	_preview.texture = null
	_progress.value = 0.0
	_job = _client.generate(request)
	if _job == 0:
		_set_status("Could not start the job (see the Output panel).", true)
		return
	_set_running(true)
	_set_status("Sending to %s..." % Settings.value("server_address"))


func _on_cancel_pressed() -> void:
	if _job != 0:
		_client.cancel(_job)
		_set_status("Cancelling...")


func _on_accepted(job: int, info: Dictionary) -> void:
	if job != _job:
		return
	_set_status("Job %s accepted (seed %d, %d ahead in the queue)"
		% [info.job_id, info.seed, info.queue_position])


func _on_progress(job: int, info: Dictionary) -> void:
	if job != _job:
		return
	_progress.value = info.overall
	if int(info.total) > 0:
		_set_status("%s %d/%d" % [info.stage, info.step, info.total])
	else:
		_set_status(str(info.stage))


func _on_preview(job: int, branch: String, png: PackedByteArray) -> void:
	if job != _job:
		return
	_previews[branch] = png
	if branch == BRANCHES[_branch.selected]:
		_show_preview()


func _show_preview() -> void:
	var branch: String = BRANCHES[_branch.selected]
	if not _previews.has(branch):
		return
	var image := Image.new()
	if image.load_png_from_buffer(_previews[branch]) == OK:
		_preview.texture = ImageTexture.create_from_image(image)


func _on_completed(job: int, result: Dictionary) -> void:
	if job != _job:
		return
	_set_running(false)
	_progress.value = 1.0
	_set_status("Importing %d files..." % result.files.size())
	_importer.start(result, _target_folder, bool(Settings.value("use_heightmap")))


func _on_failed(job: int, error: Dictionary) -> void:
	if job != _job:
		return
	_set_running(false)
	_set_status("%s: %s" % [error.code_name, error.message], error.code_name != "CANCELLED")
