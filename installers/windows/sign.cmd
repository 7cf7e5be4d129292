@echo off
rem Signs the file %1 with the code-signing certificate the release workflow imported:
rem SIGNTOOL (signtool.exe), WINDOWS_SIGN_PFX (the .pfx file) and WINDOWS_SIGN_PASSWORD, from
rem secrets. makensis runs it on the installer and the uninstaller (!finalize, !uninstfinalize).
"%SIGNTOOL%" sign /f "%WINDOWS_SIGN_PFX%" /p "%WINDOWS_SIGN_PASSWORD%" /fd SHA256 /tr http://timestamp.digicert.com /td SHA256 %1
