; photosearch for Windows: a per-user installer (no administrator rights) made with NSIS 3.
;
;   makensis /NOCD /DVERSION=0.1.0 /DPAYLOAD=build\pyinstaller\dist\photosearch /DOUTFILE=dist\photosearch-0.1.0-setup.exe ^
;            /DICON=build\icons\photosearch.ico installers\windows\photosearch.nsi
;
; PAYLOAD is the frozen folder (installers/freeze.py): photosearchw.exe (the window, no console),
; photosearch.exe (the command line) and _internal\. Silent: setup.exe /S [/D=folder];
; uninstall.exe /S. The user's library, settings and downloaded models (under
; %LOCALAPPDATA%\photosearch, and the window's settings in HKCU\Software\photosearch) stay,
; unless the uninstaller's unticked box says otherwise; photos are never touched. Neither the
; setup nor the uninstaller runs while photosearch does (its mutex: photosearch/running.py).

Unicode true
ManifestDPIAware true
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "pass /DVERSION=x.y.z"
!endif
!ifndef PAYLOAD
  !error "pass /DPAYLOAD=folder (the frozen app)"
!endif
!ifndef OUTFILE
  !define OUTFILE "photosearch-${VERSION}-setup.exe"
!endif

!define APP "photosearch"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP}"
!define OPEN_WITH_KEY "Software\Classes\Applications\photosearchw.exe"
!define PROGID "photosearch.media"  ; what Explorer's "Open with" lists for each type it names

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\${APP}"
InstallDirRegKey HKCU "Software\${APP}" "InstallDir"
BrandingText "${APP} ${VERSION}"

!include "MUI2.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"
!ifdef ICON
  !define MUI_ICON "${ICON}"
  !define MUI_UNICON "${ICON}"
!endif
!define MUI_FINISHPAGE_RUN "$INSTDIR\photosearchw.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Open photosearch"
!insertmacro MUI_PAGE_LICENSE "${PAYLOAD}\_internal\photosearch\resources\licenses\THIRD_PARTY_NOTICES.md"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; Signed when given a command that signs the file it is handed (the release workflow passes
; installers\windows\sign.cmd when it has a certificate): the installer, and the uninstaller it
; writes at install time (signed here, as it is made).
!ifdef SIGN_COMMAND
  !finalize '${SIGN_COMMAND} "%1"'
  !uninstfinalize '${SIGN_COMMAND} "%1"'
!endif

!ifndef NUMERIC_VERSION  ; four numbers only (installers/release_version.py --windows)
  !define NUMERIC_VERSION "${VERSION}.0"
!endif
VIProductVersion "${NUMERIC_VERSION}"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP} installer"
VIAddVersionKey "LegalCopyright" "MIT licence; third-party notices inside"

; Every process of the installed app holds this named mutex (photosearch/running.py): replacing or
; removing its files while it runs would leave a broken mix of two versions.
!define RUNNING_MUTEX "photosearch-running"
!macro RefuseWhileRunning
  System::Call 'kernel32::OpenMutex(i 0x00100000, i 0, t "${RUNNING_MUTEX}") p .r1'
  ${IfNot} $1 == 0
    System::Call 'kernel32::CloseHandle(p r1)'
    MessageBox MB_OK|MB_ICONEXCLAMATION "photosearch is running. Close its window (it finishes the photos it is indexing first), then run this again." /SD IDOK
    SetErrorLevel 2
    Abort
  ${EndIf}
!macroend

Function .onInit
  !insertmacro RefuseWhileRunning
FunctionEnd

Function un.onInit
  !insertmacro RefuseWhileRunning
FunctionEnd

Section "photosearch" SectionApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  ; An update replaces the program folder whole, so files a new version dropped do not linger.
  RMDir /r "$INSTDIR\_internal"
  File /r "${PAYLOAD}\*"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKCU "Software\${APP}" "InstallDir" "$INSTDIR"

  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\photosearchw.exe" "" "$INSTDIR\photosearchw.exe" 0

  ; "Open with photosearch" for photos, RAW files and videos: the window searches for others like them.
  WriteRegStr HKCU "${OPEN_WITH_KEY}" "FriendlyAppName" "photosearch (find similar photos)"
  WriteRegStr HKCU "${OPEN_WITH_KEY}\shell\open\command" "" '"$INSTDIR\photosearchw.exe" gui "%1"'
  WriteRegStr HKCU "Software\Classes\${PROGID}" "" "Photo or video (photosearch)"
  WriteRegStr HKCU "Software\Classes\${PROGID}\DefaultIcon" "" '"$INSTDIR\photosearchw.exe",0'
  WriteRegStr HKCU "Software\Classes\${PROGID}\shell\open" "FriendlyAppName" "photosearch (find similar photos)"
  WriteRegStr HKCU "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\photosearchw.exe" gui "%1"'
  !macro SupportedType EXT
    WriteRegStr HKCU "${OPEN_WITH_KEY}\SupportedTypes" "${EXT}" ""
    ; offered in "Open with" for the type, never taking its default program
    WriteRegStr HKCU "Software\Classes\${EXT}\OpenWithProgids" "${PROGID}" ""
  !macroend
  !insertmacro SupportedType ".jpg"
  !insertmacro SupportedType ".jpeg"
  !insertmacro SupportedType ".png"
  !insertmacro SupportedType ".heic"
  !insertmacro SupportedType ".heif"
  !insertmacro SupportedType ".avif"
  !insertmacro SupportedType ".webp"
  !insertmacro SupportedType ".tif"
  !insertmacro SupportedType ".tiff"
  !insertmacro SupportedType ".gif"
  !insertmacro SupportedType ".bmp"
  !insertmacro SupportedType ".dng"
  !insertmacro SupportedType ".nef"
  !insertmacro SupportedType ".cr2"
  !insertmacro SupportedType ".cr3"
  !insertmacro SupportedType ".arw"
  !insertmacro SupportedType ".raf"
  !insertmacro SupportedType ".rw2"
  !insertmacro SupportedType ".orf"
  !insertmacro SupportedType ".pef"
  !insertmacro SupportedType ".mp4"
  !insertmacro SupportedType ".mov"
  !insertmacro SupportedType ".m4v"
  !insertmacro SupportedType ".mkv"
  !insertmacro SupportedType ".webm"
  !insertmacro SupportedType ".avi"
  !insertmacro SupportedType ".3gp"
  ; Explorer reads the associations again now, not at the next sign-in
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'

  ; Apps & features: name, version, size, and a quiet uninstall for scripts.
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "photosearch developers"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\photosearchw.exe"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" "$0"
SectionEnd

!macro ForgetType EXT
  DeleteRegValue HKCU "Software\Classes\${EXT}\OpenWithProgids" "${PROGID}"
  DeleteRegKey /ifempty HKCU "Software\Classes\${EXT}\OpenWithProgids"
  DeleteRegKey /ifempty HKCU "Software\Classes\${EXT}"
!macroend

Section "un.photosearch (the program)" SectionUninstallApp
  SectionIn RO
  ; Only what the installer put there: a folder the user chose may hold other files.
  Delete "$SMPROGRAMS\${APP}.lnk"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\photosearch.exe"
  Delete "$INSTDIR\photosearchw.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${OPEN_WITH_KEY}"
  DeleteRegKey HKCU "Software\Classes\${PROGID}"
  !insertmacro ForgetType ".jpg"
  !insertmacro ForgetType ".jpeg"
  !insertmacro ForgetType ".png"
  !insertmacro ForgetType ".heic"
  !insertmacro ForgetType ".heif"
  !insertmacro ForgetType ".avif"
  !insertmacro ForgetType ".webp"
  !insertmacro ForgetType ".tif"
  !insertmacro ForgetType ".tiff"
  !insertmacro ForgetType ".gif"
  !insertmacro ForgetType ".bmp"
  !insertmacro ForgetType ".dng"
  !insertmacro ForgetType ".nef"
  !insertmacro ForgetType ".cr2"
  !insertmacro ForgetType ".cr3"
  !insertmacro ForgetType ".arw"
  !insertmacro ForgetType ".raf"
  !insertmacro ForgetType ".rw2"
  !insertmacro ForgetType ".orf"
  !insertmacro ForgetType ".pef"
  !insertmacro ForgetType ".mp4"
  !insertmacro ForgetType ".mov"
  !insertmacro ForgetType ".m4v"
  !insertmacro ForgetType ".mkv"
  !insertmacro ForgetType ".webm"
  !insertmacro ForgetType ".avi"
  !insertmacro ForgetType ".3gp"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  ; the installer's own value; the window's settings live beside it and stay
  DeleteRegValue HKCU "Software\${APP}" "InstallDir"
  DeleteRegKey /ifempty HKCU "Software\${APP}"
SectionEnd

Section /o "un.Also my settings, library index, thumbnails and downloaded models (never my photos)" SectionUninstallData
  DeleteRegKey HKCU "Software\${APP}"
  RMDir /r "$LOCALAPPDATA\${APP}"
SectionEnd
