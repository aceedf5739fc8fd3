// A small WebGL 2 viewer: the material on a sphere or a plane, lit by one directional light with
// the same BRDF and composite as the server's relit render (REFERENCE.md section 4; "disney"):
//   rgb = clamp(0.8 (f_d + f_s) E max(n.l, 0) + 0.2 albedo_linear), display = log(1 + 64 rgb) / log(65)
// with E = pi and the light direction from the latitude/longitude sliders, in view space
// (+x right, +y up, +z toward the viewer). Normal maps are OpenGL tangent space, image row 0 on top.
// Written for this page; nothing is loaded from elsewhere.
"use strict";

(function () {
  const VERTEX_SHADER = `#version 300 es
in vec3 a_position;
in vec3 a_normal;
in vec3 a_tangent;
in vec2 a_uv;
uniform mat4 u_model_view;   // rotation + translation only
uniform mat4 u_projection;
out vec3 v_position;         // view space
out vec3 v_normal;
out vec3 v_tangent;
out vec2 v_uv;
void main() {
  vec4 position = u_model_view * vec4(a_position, 1.0);
  mat3 rotation = mat3(u_model_view);
  v_position = position.xyz;
  v_normal = rotation * a_normal;
  v_tangent = rotation * a_tangent;
  v_uv = a_uv;
  gl_Position = u_projection * position;
}`;

  const FRAGMENT_SHADER = `#version 300 es
precision highp float;
in vec3 v_position;
in vec3 v_normal;
in vec3 v_tangent;
in vec2 v_uv;
uniform sampler2D u_albedo;     // sRGB-encoded
uniform sampler2D u_roughness;  // linear, R
uniform sampler2D u_metallic;   // linear, R
uniform sampler2D u_normal;     // 0.5 n + 0.5, OpenGL tangent space
uniform vec3 u_light;           // unit vector toward the light, view space
uniform vec2 u_repeat;          // texture repeats across the surface
out vec4 out_color;
const float PI = 3.14159265358979;
const float INTENSITY = PI;     // a white Lambertian surface facing the light reflects 1

vec3 srgb_to_linear(vec3 c) {
  return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(vec3(0.04045), c));
}
float schlick5(float x) { float m = clamp(1.0 - x, 0.0, 1.0); float m2 = m * m; return m2 * m2 * m; }
float smith_g(float x, float ag2) { return 1.0 / (x + sqrt(ag2 + x * x - ag2 * x * x)); }

void main() {
  vec2 uv = v_uv * u_repeat;
  vec3 albedo = srgb_to_linear(texture(u_albedo, uv).rgb);
  float r = texture(u_roughness, uv).r;
  float m = texture(u_metallic, uv).r;
  vec3 tangent_normal = texture(u_normal, uv).rgb * 2.0 - 1.0;

  vec3 N = normalize(v_normal);
  vec3 T = normalize(v_tangent - N * dot(N, v_tangent));
  vec3 B = cross(N, T);  // "up the image" for OpenGL normal maps
  vec3 n = normalize(T * tangent_normal.x + B * tangent_normal.y + N * tangent_normal.z);
  vec3 v = normalize(-v_position);
  vec3 l = normalize(u_light);

  float nl = dot(n, l);
  float nv = max(dot(n, v), 1e-4);
  vec3 lit = vec3(0.0);
  if (nl > 0.0) {
    vec3 h = normalize(l + v);
    float lh = max(dot(l, h), 0.0);
    float nh = max(dot(n, h), 0.0);
    float fd90 = 0.5 + 2.0 * r * lh * lh;
    vec3 diffuse = albedo * (1.0 - m) / PI * (1.0 + (fd90 - 1.0) * schlick5(nl)) * (1.0 + (fd90 - 1.0) * schlick5(nv));
    float alpha = max(r, 1e-3);
    float a2 = alpha * alpha;
    float denom = (a2 - 1.0) * nh * nh + 1.0;
    float D = a2 / (PI * denom * denom);
    vec3 F0 = mix(vec3(0.04), albedo, m);
    vec3 F = F0 + (1.0 - F0) * schlick5(lh);
    float ag = (0.5 + 0.5 * r) * (0.5 + 0.5 * r);
    float ag2 = ag * ag;
    vec3 specular = D * F * smith_g(nl, ag2) * smith_g(nv, ag2);  // G' includes 1 / (4 n.l n.v)
    lit = (diffuse + specular) * INTENSITY * nl;
  }
  vec3 rgb = clamp(0.8 * lit + 0.2 * albedo, 0.0, 1.0);
  out_color = vec4(log(1.0 + 64.0 * rgb) / log(65.0), 1.0);
}`;

  // Geometry: interleaved position(3) normal(3) tangent(3) uv(2), plus triangle indices.
  function sphere(slices, stacks) {
    const vertices = [];
    const indices = [];
    for (let j = 0; j <= stacks; j++) {
      const theta = (j / stacks) * Math.PI;  // 0 at the north pole (image top)
      for (let i = 0; i <= slices; i++) {
        // phi = 0 faces the viewer and grows to the right; the texture starts at the left
        // silhouette (-90 degrees), so with two repeats around, its seams sit on the silhouettes.
        const phi = (i / slices) * 2 * Math.PI - Math.PI / 2;
        const p = [Math.sin(theta) * Math.sin(phi), Math.cos(theta), Math.sin(theta) * Math.cos(phi)];
        const t = [Math.cos(phi), 0, -Math.sin(phi)];  // d position / d phi: image right
        vertices.push(...p, ...p, ...t, i / slices, j / stacks);
      }
    }
    for (let j = 0; j < stacks; j++) {
      for (let i = 0; i < slices; i++) {
        const a = j * (slices + 1) + i;
        const b = a + slices + 1;
        indices.push(a, b, a + 1, a + 1, b, b + 1);
      }
    }
    return { vertices: new Float32Array(vertices), indices: new Uint16Array(indices), repeat: [2, 1] };
  }

  function plane() {
    const vertices = [];
    for (const [x, y] of [[-1, 1], [-1, -1], [1, 1], [1, -1]]) {
      vertices.push(x, y, 0, 0, 0, 1, 1, 0, 0, (x + 1) / 2, (1 - y) / 2);
    }
    return { vertices: new Float32Array(vertices), indices: new Uint16Array([0, 1, 2, 2, 1, 3]), repeat: [1, 1] };
  }

  function multiply(a, b) {  // 4x4, column-major
    const out = new Float32Array(16);
    for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      out[c * 4 + r] = s;
    }
    return out;
  }
  function rotationX(angle) {
    const c = Math.cos(angle), s = Math.sin(angle);
    return new Float32Array([1, 0, 0, 0, 0, c, s, 0, 0, -s, c, 0, 0, 0, 0, 1]);
  }
  function rotationY(angle) {
    const c = Math.cos(angle), s = Math.sin(angle);
    return new Float32Array([c, 0, -s, 0, 0, 1, 0, 0, s, 0, c, 0, 0, 0, 0, 1]);
  }
  function translation(x, y, z) {
    return new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, x, y, z, 1]);
  }
  function perspective(fovY, aspect, near, far) {
    const f = 1 / Math.tan(fovY / 2);
    return new Float32Array([f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) / (near - far), -1,
                             0, 0, (2 * far * near) / (near - far), 0]);
  }

  class MaterialViewer {
    constructor(canvas, note) {
      this.canvas = canvas;
      this.note = note;
      this.gl = canvas.getContext("webgl2", { antialias: true, preserveDrawingBuffer: true });
      this.yaw = 0;
      this.pitch = 0;
      this.light = [0, Math.SQRT1_2, Math.SQRT1_2];
      this.textures = null;
      this.shapeName = "sphere";
      if (!this.gl) {
        canvas.dataset.webgl = "unavailable";
        if (note) note.textContent = "WebGL 2 is not available in this browser: no 3D preview.";
        return;
      }
      canvas.dataset.webgl = "ready";
      this.program = this.compile();
      this.shapes = { sphere: this.upload(sphere(96, 48)), plane: this.upload(plane()) };
      this.bindDrag();
      this.draw();
    }

    compile() {
      const gl = this.gl;
      const stage = (type, source) => {
        const shader = gl.createShader(type);
        gl.shaderSource(shader, source);
        gl.compileShader(shader);
        if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
        return shader;
      };
      const program = gl.createProgram();
      gl.attachShader(program, stage(gl.VERTEX_SHADER, VERTEX_SHADER));
      gl.attachShader(program, stage(gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
      gl.linkProgram(program);
      if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
      return program;
    }

    upload(mesh) {
      const gl = this.gl;
      const vao = gl.createVertexArray();
      gl.bindVertexArray(vao);
      gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
      gl.bufferData(gl.ARRAY_BUFFER, mesh.vertices, gl.STATIC_DRAW);
      const stride = 11 * 4;
      [["a_position", 3, 0], ["a_normal", 3, 3], ["a_tangent", 3, 6], ["a_uv", 2, 9]].forEach(([name, size, offset]) => {
        const location = gl.getAttribLocation(this.program, name);
        gl.enableVertexAttribArray(location);
        gl.vertexAttribPointer(location, size, gl.FLOAT, false, stride, offset * 4);
      });
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, gl.createBuffer());
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, mesh.indices, gl.STATIC_DRAW);
      gl.bindVertexArray(null);
      return { vao, count: mesh.indices.length, repeat: mesh.repeat };
    }

    bindDrag() {
      let last = null;
      this.canvas.addEventListener("pointerdown", (e) => { last = [e.clientX, e.clientY]; this.canvas.setPointerCapture(e.pointerId); });
      this.canvas.addEventListener("pointerup", () => { last = null; });
      this.canvas.addEventListener("pointermove", (e) => {
        if (!last) return;
        this.yaw += (e.clientX - last[0]) * 0.01;
        this.pitch = Math.max(-1.4, Math.min(1.4, this.pitch + (e.clientY - last[1]) * 0.01));
        last = [e.clientX, e.clientY];
        this.draw();
      });
    }

    loadTexture(url) {
      return new Promise((resolve, reject) => {
        const image = new Image();
        image.onload = () => {
          const gl = this.gl;
          const texture = gl.createTexture();
          gl.bindTexture(gl.TEXTURE_2D, texture);
          gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);  // image row 0 at v = 0 (top of the material)
          gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);  // values exactly as stored
          gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, image);
          gl.generateMipmap(gl.TEXTURE_2D);
          gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR_MIPMAP_LINEAR);
          gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
          gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.REPEAT);
          gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.REPEAT);
          resolve(texture);
        };
        image.onerror = () => reject(new Error(`cannot load ${url}`));
        image.src = url;
      });
    }

    async setMaterial(urls, tiling) {
      if (!this.gl) return;
      this.canvas.dataset.ready = "0";
      const names = ["albedo", "roughness", "metallic", "normal"];
      try {
        const textures = await Promise.all(names.map((n) => this.loadTexture(urls[n])));
        if (this.textures) Object.values(this.textures).forEach((t) => this.gl.deleteTexture(t));
        this.textures = Object.fromEntries(names.map((n, i) => [n, textures[i]]));
        this.tiling = tiling;
        this.draw();
        this.canvas.dataset.ready = "1";
      } catch (error) {
        if (this.note) this.note.textContent = `3D preview: ${error.message}`;
      }
    }

    setLight(latitudeDeg, longitudeDeg) {
      const lat = (latitudeDeg * Math.PI) / 180;
      const lon = (longitudeDeg * Math.PI) / 180;
      this.light = [Math.cos(lat) * Math.sin(lon), Math.sin(lat), Math.cos(lat) * Math.cos(lon)];
      this.draw();
    }

    setShape(name) {
      this.shapeName = name === "plane" ? "plane" : "sphere";
      this.yaw = 0;
      this.pitch = 0;
      this.draw();
    }

    draw() {
      const gl = this.gl;
      if (!gl) return;
      const width = this.canvas.width, height = this.canvas.height;
      gl.viewport(0, 0, width, height);
      gl.clearColor(0.067, 0.078, 0.102, 1);
      gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
      if (!this.textures) return;
      gl.enable(gl.DEPTH_TEST);
      gl.enable(gl.CULL_FACE);
      gl.useProgram(this.program);
      const shape = this.shapes[this.shapeName];
      const distance = this.shapeName === "sphere" ? 3.2 : 2.9;
      const modelView = multiply(translation(0, 0, -distance), multiply(rotationX(this.pitch), rotationY(this.yaw)));
      const u = (name) => gl.getUniformLocation(this.program, name);
      gl.uniformMatrix4fv(u("u_model_view"), false, modelView);
      gl.uniformMatrix4fv(u("u_projection"), false, perspective(0.7, width / height, 0.1, 20));
      gl.uniform3fv(u("u_light"), this.light);
      gl.uniform2fv(u("u_repeat"), shape.repeat);
      ["albedo", "roughness", "metallic", "normal"].forEach((name, unit) => {
        gl.activeTexture(gl.TEXTURE0 + unit);
        gl.bindTexture(gl.TEXTURE_2D, this.textures[name]);
        gl.uniform1i(u(`u_${name}`), unit);
      });
      gl.bindVertexArray(shape.vao);
      if (this.shapeName === "plane") gl.disable(gl.CULL_FACE);
      gl.drawElements(gl.TRIANGLES, shape.count, gl.UNSIGNED_SHORT, 0);
      gl.bindVertexArray(null);
    }
  }

  window.MaterialViewer = MaterialViewer;
})();
