// Runtime module: wraps the IntrinsiX C++ client core (clients/cpp) for Unreal.
//
// The core and gRPC are built outside Unreal and dropped into ThirdParty/IntrinsiXClient
// (docs/engines/unreal.md, "Build the client core"):
//
//   ThirdParty/IntrinsiXClient/
//     include/intrinsix/*.h          the core's public headers (no gRPC / protobuf types in them)
//     lib/Win64/*.lib                intrinsix_client.lib + the static gRPC, protobuf, abseil, re2,
//     lib/Linux/*.a                  c-ares, upb, address_sorting, gpr libraries it needs
//     lib/Mac/*.a
//
// Rules that keep gRPC from clashing with the engine:
//   - every library is static and linked into this module only; only Private/ sources include the
//     core's headers, and Public/ headers use Unreal types only (TurboLink's rule);
//   - gRPC's TLS and compression link against the engine's OpenSSL and zlib (one copy in the
//     process), so gRPC must be built with gRPC_SSL_PROVIDER=package / gRPC_ZLIB_PROVIDER=package
//     against those same headers, not with its bundled BoringSSL / zlib;
//   - Windows libraries use the dynamic CRT (/MD), as Unreal does.
// Every .lib / .a in lib/<Platform> is linked; the Linux toolchain groups them, so order does
// not matter.
using System.IO;
using UnrealBuildTool;

public class IntrinsiX : ModuleRules
{
	public IntrinsiX(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp17;

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "DeveloperSettings" });
		PrivateDependencyModuleNames.AddRange(new string[] { "Projects" });

		string ClientRoot = Path.Combine(PluginDirectory, "ThirdParty", "IntrinsiXClient");
		string IncludeDir = Path.Combine(ClientRoot, "include");
		string LibDir = Path.Combine(ClientRoot, "lib", Target.Platform.ToString());
		if (!File.Exists(Path.Combine(IncludeDir, "intrinsix", "client.h")) || !Directory.Exists(LibDir))
		{
			throw new BuildException(
				"IntrinsiX: the C++ client core is missing for " + Target.Platform + ". Build clients/cpp and gRPC, " +
				"then copy the headers to " + IncludeDir + " and the static libraries to " + LibDir +
				" (docs/engines/unreal.md, \"Build the client core\").");
		}
		PrivateIncludePaths.Add(IncludeDir);

		string Pattern = Target.Platform == UnrealTargetPlatform.Win64 ? "*.lib" : "*.a";
		string[] Libraries = Directory.GetFiles(LibDir, Pattern);
		if (Libraries.Length == 0)
		{
			throw new BuildException("IntrinsiX: no " + Pattern + " libraries in " + LibDir);
		}
		foreach (string Library in Libraries)
		{
			PublicAdditionalLibraries.Add(Library);
		}

		AddEngineThirdPartyPrivateStaticDependencies(Target, "OpenSSL", "zlib");
		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			// Sockets, certificate store and entropy used by gRPC on Windows.
			PublicSystemLibraries.AddRange(new string[] { "ws2_32.lib", "crypt32.lib", "iphlpapi.lib", "bcrypt.lib", "advapi32.lib" });
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			PublicFrameworks.AddRange(new string[] { "CoreFoundation", "Security" });
		}
	}
}
