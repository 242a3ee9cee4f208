;;; shape-lsp.el --- shape-lsp (tensor shape checker) for Eglot and lsp-mode  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1"))
;; Keywords: languages, tools
;; URL: https://github.com/shape-lsp/shape-lsp

;;; Commentary:

;; Eglot (built into Emacs 29; `elpa-eglot' / GNU ELPA for Emacs 27-28):
;;
;;   (require 'shape-lsp)
;;   (shape-lsp-eglot-setup)          ; registers the server for python-mode / python-ts-mode
;;   (add-hook 'python-mode-hook #'eglot-ensure)
;;
;; Eglot runs ONE server per buffer, so this replaces pyright/pylsp in Python buffers.
;; With lsp-mode, shape-lsp runs as an add-on next to your usual Python server:
;;
;;   (with-eval-after-load 'lsp-mode (require 'shape-lsp) (shape-lsp-lsp-mode-setup))
;;
;; Commands: `shape-lsp-verify' (runs the model under point for real),
;; `shape-lsp-summary' (layer-by-layer table in a buffer) and `shape-lsp-graph' (the model's
;; graph with shapes, the failing layer in red, opened in the browser); all work with either
;; client.
;; Verify never blocks Emacs: the server answers at once and sends the result later (a
;; `shape-lsp/verified' notification), shown in the echo area and kept in
;; `shape-lsp-last-verify'.

;;; Code:

(require 'cl-lib)
(require 'subr-x)

(defgroup shape-lsp nil
  "Tensor shape checking for PyTorch and Keras code."
  :group 'tools
  :prefix "shape-lsp-")

(defcustom shape-lsp-python "python3"
  "Python interpreter that has shape-lsp installed."
  :type 'string)

(defcustom shape-lsp-server-args '("-m" "shape_lsp" "serve")
  "Arguments after `shape-lsp-python' that start the server."
  :type '(repeat string))

(defcustom shape-lsp-settings nil
  "The `shape-lsp' settings section, as a plist with camelCase keys.
For example (:inlayHints t :ignore [\"SH113\"] :verify (:device \"cpu\")).
Sent as initializationOptions and returned for workspace/configuration."
  :type 'plist)

(defcustom shape-lsp-modes '(python-mode python-ts-mode)
  "Major modes in which shape-lsp runs."
  :type '(repeat symbol))

(defvar shape-lsp--python-ok nil
  "Interpreters known to import shape_lsp.")

(defun shape-lsp--check-python ()
  "Signal a clear error when `shape-lsp-python' cannot run the server.
Names the interpreter tried and the command that installs shape-lsp into it, instead of the
client's bare \"exit code 1\".  Only checked with the default `shape-lsp-server-args'."
  (let ((py shape-lsp-python))
    (unless (or (member py shape-lsp--python-ok)
                (not (equal shape-lsp-server-args '("-m" "shape_lsp" "serve"))))
      (let ((problem
             (cond ((not (executable-find py))
                    (format "the Python interpreter %S was not found" py))
                   ((/= 0 (let ((default-directory temporary-file-directory))
                            (call-process py nil nil nil "-c" "import shape_lsp")))
                    (format "%S cannot import shape_lsp" py)))))
        (when problem
          (user-error "shape-lsp: %s.  Install it there with: %s -m pip install shape-lsp (or set `shape-lsp-python')"
                      problem py))
        (push py shape-lsp--python-ok)))))

(defun shape-lsp--command ()
  "The server command line (after checking that the interpreter can run it)."
  (shape-lsp--check-python)
  (cons shape-lsp-python shape-lsp-server-args))

(defun shape-lsp--settings ()
  "`shape-lsp-settings' as something that JSON-encodes to an object."
  (or shape-lsp-settings (make-hash-table)))

;;;; Eglot

(defvar eglot-server-programs)
(defvar eglot-workspace-configuration)
(declare-function eglot-current-server "eglot")
(declare-function eglot-execute-command "eglot")
(declare-function jsonrpc-request "jsonrpc")

(defun shape-lsp-eglot-contact (&optional _interactive)
  "Eglot contact: the server command with its initializationOptions."
  (append (shape-lsp--command)
          (list :initializationOptions (shape-lsp--settings))))

;;;###autoload
(defun shape-lsp-eglot-setup ()
  "Register shape-lsp in `eglot-server-programs' for `shape-lsp-modes'."
  (interactive)
  (require 'eglot)
  (setq eglot-server-programs
        (cons (cons shape-lsp-modes #'shape-lsp-eglot-contact)
              (cl-remove-if (lambda (entry) (eq (cdr entry) #'shape-lsp-eglot-contact))
                            eglot-server-programs)))
  ;; workspace/configuration for the `shape-lsp' section.
  (setq-default eglot-workspace-configuration
                (plist-put (and (listp (default-value 'eglot-workspace-configuration))
                                (copy-sequence (default-value 'eglot-workspace-configuration)))
                           :shape-lsp (shape-lsp--settings))))

;;;; lsp-mode

(declare-function lsp-register-client "lsp-mode")
(declare-function make-lsp-client "lsp-mode")
(declare-function lsp-stdio-connection "lsp-mode")
(declare-function lsp-activate-on "lsp-mode")
(declare-function lsp-workspaces "lsp-mode")
(declare-function lsp-request "lsp-mode")
(declare-function lsp--workspace-client "lsp-mode")
(declare-function lsp--client-server-id "lsp-mode")
(declare-function lsp-find-workspace "lsp-mode")
(declare-function lsp-request-async "lsp-mode")

;;;###autoload
(defun shape-lsp-lsp-mode-setup ()
  "Register shape-lsp with lsp-mode as an add-on server for Python."
  (require 'lsp-mode)
  (lsp-register-client
   (make-lsp-client
    :new-connection (lsp-stdio-connection #'shape-lsp--command)
    :activation-fn (lsp-activate-on "python")
    :add-on? t
    :server-id 'shape-lsp
    :notification-handlers
    (let ((h (make-hash-table :test #'equal)))
      (puthash "shape-lsp/verified" (lambda (_workspace params) (shape-lsp--verified params)) h)
      h)
    :initialization-options #'shape-lsp--settings)))

;;;; Commands (either client)

(defun shape-lsp--class-at-point ()
  "Name of the innermost class whose body contains point, or nil."
  (save-excursion
    (end-of-line)
    (let ((limit most-positive-fixnum) found)
      (while (and (not found) (not (bobp)))
        (beginning-of-line)
        (let ((text (buffer-substring-no-properties (line-beginning-position) (line-end-position))))
          (unless (or (string-match-p "\\`[ \t]*\\'" text) (string-match-p "\\`[ \t]*#" text))
            (let ((indent (progn (string-match "\\`[ \t]*" text) (match-end 0))))
              (when (< indent limit)
                (if (string-match "\\`[ \t]*class[ \t]+\\([A-Za-z_][A-Za-z0-9_]*\\)[ \t]*[(:]" text)
                    (setq found (match-string 1 text))
                  (setq limit indent)
                  (when (= indent 0) (goto-char (point-min))))))))
        (unless found (forward-line -1)))
      found)))

(defvar lsp--cur-workspace)
(defvar lsp-mode)
(declare-function lsp--buffer-uri "lsp-mode")
(declare-function eglot-path-to-uri "eglot")
(declare-function eglot--path-to-uri "eglot")

(defun shape-lsp--eglot-uri ()
  "This buffer's URI as Eglot sends it."
  (let ((file (buffer-file-name)))
    (cond ((fboundp 'eglot-path-to-uri) (eglot-path-to-uri file))
          ((fboundp 'eglot--path-to-uri) (eglot--path-to-uri file))
          (t (concat "file://" (expand-file-name file))))))

(defun shape-lsp--args (uri model &optional options)
  "The command arguments [URI] or [URI MODEL]; with OPTIONS (a plist), [{:uri :model ...}]."
  (let ((model (and model (not (string-empty-p model)) model)))
    (cond (options (vector (append (list :uri uri) (and model (list :model model)) options)))
          (model (vector uri model))
          (t (vector uri)))))

(defun shape-lsp--execute (command model &optional options)
  "Run server COMMAND on this buffer with MODEL (and the OPTIONS plist); return the result."
  (cond
   ((and (fboundp 'eglot-current-server) (eglot-current-server))
    (jsonrpc-request (eglot-current-server) :workspace/executeCommand
                     (list :command command
                           :arguments (shape-lsp--args (shape-lsp--eglot-uri) model options))
                     :timeout 300))
   ((and (fboundp 'lsp-workspaces) (bound-and-true-p lsp-mode))
    (let ((ws (cl-find-if (lambda (w) (eq (lsp--client-server-id (lsp--workspace-client w)) 'shape-lsp))
                          (lsp-workspaces))))
      (unless ws (user-error "shape-lsp: no shape-lsp server in this buffer"))
      ;; Send to shape-lsp only (not to the other Python server of this buffer).
      (let ((lsp--cur-workspace ws))
        (lsp-request "workspace/executeCommand"
                     (list :command command
                           :arguments (shape-lsp--args (lsp--buffer-uri) model options))))))
   (t (user-error "shape-lsp: no Eglot or lsp-mode server in this buffer"))))

(defun shape-lsp--get (obj key)
  "KEY from a JSON object OBJ (plist or hash table)."
  (cond ((hash-table-p obj) (gethash (substring (symbol-name key) 1) obj))
        ((listp obj) (plist-get obj key))))

(defvar shape-lsp-last-verify nil
  "The result of the last `shape-lsp-verify' (a plist or hash table), nil while it runs.")

(defvar shape-lsp-verified-functions nil
  "Functions called with each verify result when it arrives.")

(defun shape-lsp--verified (result)
  "Show a verify RESULT (from the `shape-lsp/verified' notification) and keep it."
  (setq shape-lsp-last-verify result)
  (let ((status (shape-lsp--get result :status))
        (msg (shape-lsp--get result :message)))
    (message "shape-lsp verify: %s%s" status
             (if (and (stringp msg) (not (string-empty-p msg))) (concat ": " msg) "")))
  (run-hook-with-args 'shape-lsp-verified-functions result))

(with-eval-after-load 'eglot
  (cl-defmethod eglot-handle-notification
    (_server (_method (eql shape-lsp/verified)) &rest params)
    "The result of a `shape-lsp-verify' run."
    (shape-lsp--verified params)))

;;;###autoload
(defun shape-lsp-verify (&optional model)
  "Run MODEL (default: the class at point, else every model) for real and compare shapes.
Returns at once; the result is shown when the run is over (see `shape-lsp-last-verify')."
  (interactive (list (let ((m (shape-lsp--class-at-point)))
                       (read-string (format "Model%s: " (if m (format " (default %s)" m) "")) nil nil m))))
  (setq shape-lsp-last-verify nil)
  (let ((result (shape-lsp--execute "shape-lsp.verify" model)))
    (if (equal (shape-lsp--get result :status) "started")
        (message "shape-lsp verify: running %s…" (or model "the models"))
      (shape-lsp--verified result))  ; an error at once, or a server that waits
    result))

;;;###autoload
(defun shape-lsp-summary (&optional model)
  "Show the layer-by-layer shape table of MODEL (default: class at point, else all)."
  (interactive (list (shape-lsp--class-at-point)))
  (let* ((result (shape-lsp--execute "shape-lsp.summary" model))
         (text (shape-lsp--get result :text)))
    (if (or (null text) (string-empty-p text))
        (message "shape-lsp: no model summary%s"
                 (let ((e (shape-lsp--get result :error))) (if e (concat ": " e) "")))
      (with-current-buffer (get-buffer-create "*shape-lsp summary*")
        (let ((inhibit-read-only t))
          (erase-buffer)
          (insert text "\n"))
        (special-mode)
        (display-buffer (current-buffer))
        (current-buffer)))))

(defcustom shape-lsp-graph-depth 3
  "How deep `shape-lsp-graph' draws nested module calls (-1: all of them)."
  :type 'integer)

(defcustom shape-lsp-graph-open-function #'browse-url-of-file
  "Called with the path of the page `shape-lsp-graph' wrote (nil: do not open it).
The default opens it with the system's browser."
  :type '(choice function (const nil)))

(defvar shape-lsp-last-graph nil
  "The path of the last page `shape-lsp-graph' wrote.")

;;;###autoload
(defun shape-lsp-graph (&optional model)
  "Draw MODEL's graph (default: class at point, else the file's first model) and open it.
The server writes one self-contained HTML page (the SVG inline when Graphviz's `dot' is
installed, else the Mermaid text) with the shape on every edge and the failing layer in red;
`shape-lsp-graph-open-function' opens it.  Returns the page's path."
  (interactive (list (shape-lsp--class-at-point)))
  (let* ((result (shape-lsp--execute "shape-lsp.graph" model
                                     (list :write t :depth shape-lsp-graph-depth)))
         (path (shape-lsp--get result :path))
         (err (shape-lsp--get result :error)))
    (if (not (stringp path))
        (progn (message "shape-lsp: no graph%s" (if (stringp err) (concat ": " err) ""))
               nil)
      (setq shape-lsp-last-graph path)
      (when (stringp err) (message "shape-lsp: %s" err))  ; no Graphviz: Mermaid text
      (when shape-lsp-graph-open-function
        (funcall shape-lsp-graph-open-function path))
      path)))

(provide 'shape-lsp)
;;; shape-lsp.el ends here
